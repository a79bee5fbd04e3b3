package flex

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOptions(t *testing.T) {
	t.Parallel()
	pod := &PodInfo{Name: "web-0", Namespace: "shop", UID: "uid-1", ServiceAccount: "builder"}
	secret := map[string][]byte{"password": []byte("s3cret\n"), "user": []byte("admin")}
	cases := []struct {
		name   string
		v      Volume
		pod    *PodInfo
		secret map[string][]byte
		want   map[string]string
	}{{
		name: "attach options",
		v:    Volume{Driver: "acme/nfs", FSType: "xfs", Name: "pv-1", Options: map[string]string{"server": "10.0.0.1"}},
		want: map[string]string{"kubernetes.io/fsType": "xfs", "kubernetes.io/readwrite": "rw",
			"kubernetes.io/pvOrVolumeName": "pv-1", "server": "10.0.0.1"},
	}, {
		name: "read-only, no fsType",
		v:    Volume{Driver: "acme/nfs", ReadOnly: true, Name: "data"},
		want: map[string]string{"kubernetes.io/fsType": "", "kubernetes.io/readwrite": "ro",
			"kubernetes.io/pvOrVolumeName": "data"},
	}, {
		name: "volume options may override the three",
		v:    Volume{FSType: "ext4", Name: "pv-1", Options: map[string]string{"kubernetes.io/fsType": "btrfs"}},
		want: map[string]string{"kubernetes.io/fsType": "btrfs", "kubernetes.io/readwrite": "rw",
			"kubernetes.io/pvOrVolumeName": "pv-1"},
	}, {
		name: "mount options",
		v: Volume{FSType: "ext4", Name: "pv-1", Options: map[string]string{"server": "10.0.0.1",
			"kubernetes.io/pod.uid": "spoofed", "kubernetes.io/secret/user": "spoofed"}},
		pod:    pod,
		secret: secret,
		want: map[string]string{"kubernetes.io/fsType": "ext4", "kubernetes.io/readwrite": "rw",
			"kubernetes.io/pvOrVolumeName": "pv-1", "server": "10.0.0.1",
			"kubernetes.io/pod.name": "web-0", "kubernetes.io/pod.namespace": "shop",
			"kubernetes.io/pod.uid": "uid-1", "kubernetes.io/serviceAccount.name": "builder",
			"kubernetes.io/secret/password": "czNjcmV0Cg==", "kubernetes.io/secret/user": "YWRtaW4="},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Options(tc.v, tc.pod, tc.secret)
			if !maps.Equal(got, tc.want) {
				t.Fatalf("Options:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestOptionsReachDriver checks the JSON a driver receives during SetUp:
// the pod and the secret only in mount, HTML characters as they are.
func TestOptionsReachDriver(t *testing.T) {
	t.Parallel()
	td := installTestDriver(t)
	tmp := t.TempDir()
	req := SetUpRequest{
		Volume: Volume{Driver: testDriverName, FSType: "ext4", Name: "pv-1",
			Options: map[string]string{"size": "1Mi", "note": "a&b<c>"}},
		Pod:    PodInfo{Name: "web-0", Namespace: "shop", UID: "uid-1", ServiceAccount: "default"},
		Secret: map[string][]byte{"token": []byte("t0k")},
		Node:   "node-1", PodDir: filepath.Join(tmp, "pod"), GlobalDir: filepath.Join(tmp, "global"),
	}
	if err := td.plugins(20*time.Second).SetUp(testContext(t), req); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"kubernetes.io/fsType": "ext4", "kubernetes.io/readwrite": "rw",
		"kubernetes.io/pvOrVolumeName": "pv-1", "size": "1Mi", "note": "a&b<c>"}
	mountOpts := maps.Clone(base)
	maps.Copy(mountOpts, map[string]string{"kubernetes.io/pod.name": "web-0", "kubernetes.io/pod.namespace": "shop",
		"kubernetes.io/pod.uid": "uid-1", "kubernetes.io/serviceAccount.name": "default",
		"kubernetes.io/secret/token": "dDBr"})
	jsonArg := map[string]int{"getvolumename": 1, "isattached": 1, "attach": 1, "waitforattach": 2, "mountdevice": 3, "mount": 2}
	for _, c := range td.calls(t) {
		i, ok := jsonArg[c[0]]
		if !ok {
			continue
		}
		if !strings.Contains(c[i], `"a&b<c>"`) {
			t.Errorf("%s: JSON %s escapes HTML characters", c[0], c[i])
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(c[i]), &got); err != nil {
			t.Fatalf("%s: %v", c[0], err)
		}
		want := base
		if c[0] == "mount" {
			want = mountOpts
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s options:\n got %v\nwant %v", c[0], got, want)
		}
	}
}
