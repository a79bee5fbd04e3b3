package member

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// Supervisor runs the federation agent while the member's
// MembershipSecret (NamespaceSystem/kennel-federation-join, written by
// `kennel federation join`) exists: it starts the agent when the Secret
// appears, restarts it when the Secret changes, and when the Secret is
// deleted stops it and Leaves the federation. Without a Secret it holds
// one watch on that Secret and nothing else.
type Supervisor struct {
	member *client.Client
	log    *slog.Logger
	tune   func(*Config)
}

// SupervisorOption adjusts a Supervisor.
type SupervisorOption func(*Supervisor)

// WithAgentConfig lets tune adjust each agent's Config (intervals,
// APIEndpoint) after it is read from the Secret.
func WithAgentConfig(tune func(*Config)) SupervisorOption {
	return func(s *Supervisor) { s.tune = tune }
}

// NewSupervisor builds a Supervisor over the member's admin client.
func NewSupervisor(member *client.Client, log *slog.Logger, opts ...SupervisorOption) *Supervisor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Supervisor{member: member, log: log.With("component", "federation-supervisor")}
	for _, o := range opts {
		o(s)
	}
	return s
}

// running is an agent the Supervisor started.
type running struct {
	cfg         Config
	fingerprint string
	cancel      context.CancelFunc
	done        chan struct{}
}

// supervision is the Supervisor's state between Secret changes.
type supervision struct {
	agent *running
	// leaving is a Leave still owed (it failed, or the member left while
	// the Supervisor was down).
	leaving *Config
	// bad is the fingerprint of a Secret that could not be used, so it
	// is reported once, not on every event.
	bad string
}

// Run supervises until ctx ends, then stops the agent (without leaving).
func (s *Supervisor) Run(ctx context.Context) {
	inf := client.NewInformer(client.For[*v1.Secret](s.member, v1.NamespaceSystem),
		client.ListOptions{FieldSelector: "metadata.name=" + v1.MembershipSecret}, s.log)
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	inf.AddHandler(client.HandlerFuncs{AddFunc: poke, UpdateFunc: func(_, o any) { poke(o) }, DeleteFunc: poke})
	go inf.Run(ctx)
	if !inf.WaitForSync(ctx) {
		return
	}
	st := &supervision{}
	wait := retryBase
	for {
		secret, ok := inf.Get(v1.NamespaceSystem + "/" + v1.MembershipSecret)
		var retry <-chan time.Time
		if err := s.reconcile(ctx, st, secret, ok); err != nil {
			s.log.Warn("cannot leave the federation; will retry", "err", err, "retryIn", wait)
			retry = time.After(wait)
			wait = min(wait*2, retryMax)
		} else {
			wait = retryBase
		}
		select {
		case <-ctx.Done():
			s.stop(st, false)
			return
		case <-changed:
		case <-retry:
		}
	}
}

// membershipLeft reports whether the membership ConfigMap outlived the
// Secret with no agent to leave: the member was unjoined while the
// Supervisor was not running, or while the Secret could not be used.
func (s *Supervisor) membershipLeft(ctx context.Context) bool {
	_, err := client.For[*v1.ConfigMap](s.member, v1.NamespaceSystem).Get(ctx, v1.MembershipConfigMap)
	return err == nil
}

// reconcile starts, restarts or stops the agent for the Secret's current
// state; an error is a Leave to retry.
func (s *Supervisor) reconcile(ctx context.Context, st *supervision, secret *v1.Secret, exists bool) error {
	if exists {
		st.leaving = nil
		fp := fingerprint(secret)
		if (st.agent != nil && st.agent.fingerprint == fp) || st.bad == fp {
			return nil
		}
		s.stop(st, false)
		cfg, err := s.agentConfig(secret)
		if err != nil {
			s.log.Error("cannot use the membership Secret", "secret", v1.NamespaceSystem+"/"+v1.MembershipSecret, "err", err)
			st.bad = fp
			return nil
		}
		st.bad = ""
		st.agent = s.start(ctx, cfg, fp)
		return nil
	}
	st.bad = ""
	s.stop(st, true)
	if st.leaving == nil && s.membershipLeft(ctx) {
		st.leaving = &Config{Member: s.member, Logger: s.log}
	}
	if st.leaving == nil {
		return nil
	}
	if err := Leave(ctx, *st.leaving); err != nil {
		return err
	}
	if st.leaving.Federation != nil {
		st.leaving.Federation.Close()
	}
	st.leaving = nil
	return nil
}

func (s *Supervisor) start(ctx context.Context, cfg Config, fp string) *running {
	actx, cancel := context.WithCancel(ctx)
	r := &running{cfg: cfg, fingerprint: fp, cancel: cancel, done: make(chan struct{})}
	s.log.Info("starting the federation agent", "cluster", cfg.Cluster, "federation", cfg.Federation.Server())
	go func() {
		defer close(r.done)
		if err := Run(actx, cfg); err != nil {
			s.log.Error("federation agent failed", "err", err)
		}
	}()
	return r
}

// stop stops the agent, if one runs; leave keeps its Config for Leave.
func (s *Supervisor) stop(st *supervision, leave bool) {
	r := st.agent
	if r == nil {
		return
	}
	st.agent = nil
	r.cancel()
	<-r.done
	s.log.Info("federation agent stopped", "cluster", r.cfg.Cluster)
	if leave {
		cfg := r.cfg
		st.leaving = &cfg
		return
	}
	r.cfg.Federation.Close()
}

// agentConfig builds the agent's Config from the membership Secret.
func (s *Supervisor) agentConfig(secret *v1.Secret) (Config, error) {
	get := func(key string) string {
		if v, ok := secret.Data[key]; ok {
			return strings.TrimSpace(string(v))
		}
		return strings.TrimSpace(secret.StringData[key])
	}
	var errs []error
	for _, k := range []string{v1.JoinURL, v1.JoinToken, v1.JoinCluster, v1.JoinRegion} {
		if get(k) == "" {
			errs = append(errs, fmt.Errorf("member: Secret %s: key %q: required", v1.MembershipSecret, k))
		}
	}
	var labels map[string]string
	if l := get(v1.JoinLabels); l != "" {
		if err := json.Unmarshal([]byte(l), &labels); err != nil {
			errs = append(errs, fmt.Errorf("member: Secret %s: key %q: not a JSON object of strings: %w", v1.MembershipSecret, v1.JoinLabels, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	var zones []string
	for z := range strings.SplitSeq(get(v1.JoinZones), ",") {
		if z = strings.TrimSpace(z); z != "" {
			zones = append(zones, z)
		}
	}
	fed, err := client.New(client.Config{Server: get(v1.JoinURL), CAData: []byte(get(v1.JoinCA)),
		Token: get(v1.JoinToken), UserAgent: "kennel-federation-agent"})
	if err != nil {
		return Config{}, fmt.Errorf("member: Secret %s: %w", v1.MembershipSecret, err)
	}
	cfg := Config{Federation: fed, Member: s.member, Cluster: get(v1.JoinCluster), Labels: labels,
		Region: get(v1.JoinRegion), Zones: zones, Logger: s.log}
	if s.tune != nil {
		s.tune(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		fed.Close()
		return Config{}, err
	}
	return cfg, nil
}

// fingerprint identifies a Secret's content, so that a write that
// changes nothing does not restart the agent.
func fingerprint(secret *v1.Secret) string {
	h := sha256.New()
	keys := make([]string, 0, len(secret.Data)+len(secret.StringData))
	for k := range secret.Data {
		keys = append(keys, "d:"+k)
	}
	for k := range secret.StringData {
		keys = append(keys, "s:"+k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := []byte(secret.StringData[k[2:]])
		if k[0] == 'd' {
			v = secret.Data[k[2:]]
		}
		fmt.Fprintf(h, "%s=%d:%s\n", k, len(v), v)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
