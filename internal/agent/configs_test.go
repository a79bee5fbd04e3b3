package agent

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func ptrBool(b bool) *bool { return &b }

func TestConfigMapsAndSecretsInEnvAndFiles(t *testing.T) {
	var logs testcluster.SyncBuffer
	e := startEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	cms := client.For[*v1.ConfigMap](e.tc.Admin, "default")
	cm, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "app", Namespace: "default"},
		Data: map[string]string{"mode": "primary", "app.conf": "port=5432\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.For[*v1.Secret](e.tc.Admin, "default").Create(ctx, &v1.Secret{ObjectMeta: v1.ObjectMeta{Name: "creds", Namespace: "default"},
		Data: map[string][]byte{"password": []byte("s3cr3t-value")}}); err != nil {
		t.Fatal(err)
	}
	confDir, secretDir := filepath.Join(t.TempDir(), "conf"), filepath.Join(t.TempDir(), "creds")
	p := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "db", Namespace: "default"}, Spec: v1.PodSpec{NodeName: "node-1",
		Volumes: []v1.Volume{
			{Name: "conf", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app"},
				Items: []v1.KeyToPath{{Key: "app.conf", Path: "etc/app.conf"}}}}},
			{Name: "creds", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "creds"}}},
		},
		Containers: []v1.Container{{Name: "main", Command: []string{"sh", "-c",
			`echo "MODE=$MODE PASS_LEN=${#PASS} CFG_mode=$CFG_mode OPT=${OPT-unset}"; echo up; while :; do sleep 0.1; done`},
			Env: []v1.EnvVar{
				{Name: "MODE", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "app"}, Key: "mode"}}},
				{Name: "PASS", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
				{Name: "OPT", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "app"}, Key: "nope", Optional: ptrBool(true)}}},
			},
			EnvFrom:      []v1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "app"}}}},
			VolumeMounts: []v1.VolumeMount{{Name: "conf", MountPath: confDir}, {Name: "creds", MountPath: secretDir}},
		}}}}
	e.create(p)
	p = e.waitPod("db", 60*time.Second, "Running", running)
	testcluster.Eventually(t, 10*time.Second, "the container's output", func() bool { return strings.Contains(e.log(p, false), "up") })
	if log := e.log(p, false); !strings.Contains(log, "MODE=primary PASS_LEN=12 CFG_mode=primary OPT=unset") {
		t.Fatalf("env seen by the container:\n%s", log)
	}
	read := func(path string) string {
		var out bytes.Buffer
		if _, err := e.agent.Runtime().Exec(ctx, string(p.UID), "main", []string{"cat", path}, &out, &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if got := read(filepath.Join(confDir, "etc/app.conf")); got != "port=5432\n" {
		t.Fatalf("mounted config file: %q", got)
	}
	if got := read(filepath.Join(secretDir, "password")); got != "s3cr3t-value" {
		t.Fatalf("mounted secret file: %q", got)
	}
	if requireRootOK() {
		// The files are in the pod's mount namespace, not on the node.
		if _, err := os.Stat(filepath.Join(confDir, "etc/app.conf")); err == nil {
			t.Fatal("the config file is visible outside the pod's mount namespace")
		}
		var out bytes.Buffer
		code, _ := e.agent.Runtime().Exec(ctx, string(p.UID), "main", []string{"sh", "-c", "echo x > " + filepath.Join(confDir, "new")}, &out, &out)
		if code == 0 {
			t.Fatal("a configMap volume must be read-only")
		}
	}
	// An update reaches the running pod's file within seconds, without a
	// restart.
	cm.Data["app.conf"] = "port=6543\n"
	if _, err := cms.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 10*time.Second, "the mounted file updated", func() bool {
		return read(filepath.Join(confDir, "etc/app.conf")) == "port=6543\n"
	})
	if n := e.get("db").Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Fatalf("restartCount %d after a config update", n)
	}
	// The secret's value is in no log line, event or status of the run.
	evs, _ := client.For[*v1.Event](e.tc.Admin, "default").List(ctx, client.ListOptions{})
	for _, ev := range evs.Items {
		if strings.Contains(ev.Message, "s3cr3t") {
			t.Fatalf("event carries the secret: %s", ev.Message)
		}
	}
	if strings.Contains(logs.String(), "s3cr3t") {
		t.Fatal("the agent logged the secret's value")
	}
	if logs.String() == "" {
		t.Fatal("no agent logs captured: the check above proves nothing")
	}
}

func requireRootOK() bool { return os.Geteuid() == 0 }

func TestMissingConfigKeepsPodPending(t *testing.T) {
	e := startEnv(t, nil)
	ctx := context.Background()
	p := workloadPod("waiting", "--print", "started")
	p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "X", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{
		LocalObjectReference: v1.LocalObjectReference{Name: "later"}, Key: "x"}}}}
	opt := workloadPod("optional", "--print", "started")
	opt.Spec.Containers[0].EnvFrom = []v1.EnvFromSource{{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}, Optional: ptrBool(true)}}}
	e.create(p)
	e.create(opt)
	e.waitPod("optional", 60*time.Second, "Running despite a missing optional secret", running)
	p = e.waitPod("waiting", 60*time.Second, "Pending with the reason", func(p *v1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "CreateContainerConfigError" && strings.Contains(w.Message, `configmap "later" not found`)
	})
	if p.Status.Phase != v1.PodPending {
		t.Fatalf("phase %s, want Pending", p.Status.Phase)
	}
	testcluster.Eventually(t, 10*time.Second, "an event naming the missing configmap", func() bool {
		evs, err := client.For[*v1.Event](e.tc.Admin, "default").List(ctx, client.ListOptions{})
		if err != nil {
			return false
		}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Name == "waiting" && strings.Contains(ev.Message, `configmap "later" not found`) {
				return true
			}
		}
		return false
	})
	// The configmap without the key: still waiting, now for the key.
	if _, err := client.For[*v1.ConfigMap](e.tc.Admin, "default").Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "later", Namespace: "default"},
		Data: map[string]string{"y": "1"}}); err != nil {
		t.Fatal(err)
	}
	e.waitPod("waiting", 60*time.Second, "waiting for the key", func(p *v1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && strings.Contains(w.Message, `key "x" not found in configmap "later"`)
	})
	cm, _ := client.For[*v1.ConfigMap](e.tc.Admin, "default").Get(ctx, "later")
	cm.Data["x"] = "here"
	if _, err := client.For[*v1.ConfigMap](e.tc.Admin, "default").Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	e.waitPod("waiting", 60*time.Second, "Running once its configuration exists", running)
}
