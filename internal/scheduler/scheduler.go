package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/events"
	"github.com/kennel-dev/kennel/internal/scheduler/config"
	"github.com/kennel-dev/kennel/internal/scheduler/extender"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// Defaults of Config.
const (
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 30 * time.Second
)

// Config configures a Scheduler. The zero value is usable.
type Config struct {
	// Name is the spec.schedulerName whose pods this scheduler places;
	// "" means v1.DefaultSchedulerName, which also takes pods that name
	// no scheduler.
	Name string
	// Profile is the plugin pipeline; nil means one built by
	// BuildProfile from Configured over the scheduler's own informers.
	// A profile without VolumeBinding places pods without regard to
	// their volumes.
	Profile *framework.Profile
	// Configured is the profile of a configuration file (plugins per
	// extension point, weights, args) used when Profile is nil; nil
	// means Kennel's default profile (config.Default()).
	Configured *config.Profile
	// PercentageOfNodesToScore and Extenders complete Configured (see
	// framework.ProfileOptions).
	PercentageOfNodesToScore int
	Extenders                []extender.Config
	// OnBound, when set, is called once a pod's binding is written (the
	// write has returned, so it is in etcd), from the worker that wrote
	// it: for metrics and benchmarks.
	OnBound func(pod *v1.Pod, node string)
	// Clock times back-off and event timestamps; nil means the system
	// clock.
	Clock clock.Clock
	// Workers is the number of pods handled at once; zero means 1.
	// Decisions are always made one at a time, so that each sees the
	// pods the one before placed; only bindings and status writes
	// overlap.
	Workers int
	// InitialBackoff and MaxBackoff bound the wait before an
	// unschedulable pod is tried again (it doubles per failure); zero
	// means DefaultInitialBackoff and DefaultMaxBackoff. A node that is
	// added or changes, or a pod that goes, retries at once.
	InitialBackoff, MaxBackoff time.Duration
}

// Validate checks the configuration without side effects.
func (c Config) Validate() error {
	switch {
	case c.Workers < 0:
		return fmt.Errorf("scheduler: config.Workers: must not be negative, got %d", c.Workers)
	case c.InitialBackoff < 0:
		return fmt.Errorf("scheduler: config.InitialBackoff: must not be negative, got %s", c.InitialBackoff)
	case c.MaxBackoff < 0:
		return fmt.Errorf("scheduler: config.MaxBackoff: must not be negative, got %s", c.MaxBackoff)
	case c.InitialBackoff > 0 && c.MaxBackoff > 0 && c.InitialBackoff > c.MaxBackoff:
		return fmt.Errorf("scheduler: config.InitialBackoff: %s exceeds config.MaxBackoff %s", c.InitialBackoff, c.MaxBackoff)
	case c.PercentageOfNodesToScore < 0 || c.PercentageOfNodesToScore > 100:
		return fmt.Errorf("scheduler: config.PercentageOfNodesToScore: must be between 0 and 100, got %d", c.PercentageOfNodesToScore)
	}
	return extender.ValidateAll(c.Extenders)
}

// DefaultProfile is Kennel's default pipeline (config.Default()) over h,
// for tests and benchmarks that build a scheduler's profile themselves.
func DefaultProfile(h Handle) (*framework.Profile, error) {
	p, _, err := BuildProfile(config.Default().Profiles[0], 0, nil, h)
	return p, err
}

// Scheduler places pending pods on nodes.
type Scheduler struct {
	c        *client.Client
	log      *slog.Logger
	name     string
	profile  *framework.Profile
	clock    clock.Clock
	backoff  [2]time.Duration // initial, max
	recorder *events.Recorder

	pods    *client.Informer[*v1.Pod]
	nodes   *client.Informer[*v1.Node]
	volumes *volumeCaches
	cache   *cache
	ctrl    *controller.Controller

	onBound func(pod *v1.Pod, node string)
	// snapshots recycles the node lists decisions are made over.
	snapshots sync.Pool
	decideMu  sync.Mutex // one decision at a time
	// decisions and evaluated count decisions and the nodes they
	// filtered (guarded by decideMu), for MeanEvaluated.
	decisions, evaluated int64

	mu            sync.Mutex
	unschedulable map[string]int // pod key → failed attempts in a row
	moves         uint64         // times waiting pods were woken (retryUnschedulable, retryNamespace)
}

// New builds a scheduler that talks to the API server through c; it
// contacts nothing until Run.
func New(c *client.Client, log *slog.Logger, cfg Config) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("scheduler: client is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = withDefaults(cfg)
	s := &Scheduler{
		c: c, log: log.With("component", "scheduler"), name: cfg.Name, clock: cfg.Clock,
		backoff: [2]time.Duration{cfg.InitialBackoff, cfg.MaxBackoff}, cache: newCache(), unschedulable: map[string]int{},
		onBound: cfg.OnBound,
	}
	s.pods = client.NewInformer(client.For[*v1.Pod](c, ""), client.ListOptions{}, s.log)
	s.nodes = client.NewInformer(client.For[*v1.Node](c, ""), client.ListOptions{}, s.log)
	s.volumes = newVolumeCaches(c, s.nodes, s.log)
	s.profile = cfg.Profile
	if s.profile == nil {
		prof := config.Default().Profiles[0]
		if cfg.Configured != nil {
			prof = *cfg.Configured
		}
		p, warnings, err := BuildProfile(prof, cfg.PercentageOfNodesToScore, cfg.Extenders, Handle{Volumes: s.volumes, Claims: s.volumes})
		if err != nil {
			return nil, err
		}
		for _, w := range warnings {
			s.log.Warn("scheduler configuration: " + w)
		}
		s.profile = p
	}
	s.recorder = newRecorder(c, cfg, s.log)
	ctrl, err := controller.New("scheduler", s.sync, controller.Options{Workers: cfg.Workers, Logger: s.log, Clock: cfg.Clock})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	s.ctrl = ctrl
	s.pods.AddHandler(client.HandlerFuncs{AddFunc: s.onPodAdd, UpdateFunc: s.onPodUpdate, DeleteFunc: s.onPodDelete})
	s.nodes.AddHandler(client.HandlerFuncs{AddFunc: s.onNodeAdd, UpdateFunc: s.onNodeUpdate, DeleteFunc: s.onNodeDelete})
	s.watchVolumes()
	return s, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Name == "" {
		cfg.Name = v1.DefaultSchedulerName
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.InitialBackoff == 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	// Only one of them was given, and a default crossed it.
	cfg.InitialBackoff = min(cfg.InitialBackoff, cfg.MaxBackoff)
	return cfg
}

// Run schedules until ctx ends; call it once. It starts placing pods only
// once every cache is filled, so that it never overlooks pods already
// bound or volumes already holding a device.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.pods.Run(ctx) })
	wg.Go(func() { s.nodes.Run(ctx) })
	s.volumes.run(ctx, &wg)
	if !s.pods.WaitForSync(ctx) || !s.nodes.WaitForSync(ctx) || !s.volumes.waitForSync(ctx) {
		return
	}
	s.log.Info("scheduler started", "schedulerName", s.name, "plugins", s.profile.Plugins())
	if err := s.ctrl.Run(ctx); err != nil {
		s.log.Error("scheduler stopped", "error", err)
	}
}

// responsibleFor reports whether pod waits for this scheduler.
func (s *Scheduler) responsibleFor(pod *v1.Pod) bool {
	name := pod.Spec.SchedulerName
	if name == "" {
		name = v1.DefaultSchedulerName
	}
	return name == s.name && pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil && !v1.IsPodTerminal(pod)
}

// countsOnNode reports whether pod uses its node's resources: bound and
// not finished (a pod being deleted still runs).
func countsOnNode(pod *v1.Pod) bool {
	return pod.Spec.NodeName != "" && !v1.IsPodTerminal(pod)
}

func (s *Scheduler) onPodAdd(obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	switch {
	case countsOnNode(pod):
		s.cache.setPod(pod)
	case s.responsibleFor(pod):
		s.ctrl.Enqueue(v1.ObjectKey(pod))
	}
}

func (s *Scheduler) onPodUpdate(oldObj, newObj any) {
	old, ok1 := oldObj.(*v1.Pod)
	pod, ok2 := newObj.(*v1.Pod)
	if !ok1 || !ok2 {
		return
	}
	switch {
	case countsOnNode(pod):
		s.cache.setPod(pod)
	case pod.Spec.NodeName != "":
		// Finished: its resources are free for the pods waiting.
		s.cache.removePod(pod)
		if countsOnNode(old) {
			s.retryUnschedulable()
		}
	case s.responsibleFor(pod) && (!s.responsibleFor(old) || podChanged(old, pod)):
		// Status-only changes, our own PodScheduled condition among them,
		// do not make a pod fit anywhere new.
		s.ctrl.Enqueue(v1.ObjectKey(pod))
	}
}

func (s *Scheduler) onPodDelete(obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	s.cache.removePod(pod)
	s.mu.Lock()
	delete(s.unschedulable, v1.ObjectKey(pod))
	s.mu.Unlock()
	if countsOnNode(pod) {
		s.retryUnschedulable()
	}
}

// podChanged reports a change of what scheduling reads: spec and labels.
func podChanged(old, pod *v1.Pod) bool {
	return !reflect.DeepEqual(old.Spec, pod.Spec) || !maps.Equal(old.Labels, pod.Labels)
}

func (s *Scheduler) onNodeAdd(obj any) {
	if node, ok := obj.(*v1.Node); ok {
		s.cache.setNode(node)
		s.retryUnschedulable()
	}
}

func (s *Scheduler) onNodeUpdate(oldObj, newObj any) {
	old, ok1 := oldObj.(*v1.Node)
	node, ok2 := newObj.(*v1.Node)
	if !ok1 || !ok2 {
		return
	}
	s.cache.setNode(node)
	if nodeChanged(old, node) {
		s.retryUnschedulable()
	}
}

func (s *Scheduler) onNodeDelete(obj any) {
	if node, ok := obj.(*v1.Node); ok {
		s.cache.removeNode(node.Name)
	}
}

// nodeChanged reports a change that may let a waiting pod fit: not a
// heartbeat.
func nodeChanged(old, node *v1.Node) bool {
	return !reflect.DeepEqual(old.Spec, node.Spec) || !maps.Equal(old.Labels, node.Labels) ||
		!sameResources(old.Status.Allocatable, node.Status.Allocatable) ||
		nodeReadyStatus(old) != nodeReadyStatus(node) || !sameDevices(old.Status.Storage, node.Status.Storage)
}

// sameDevices compares storage devices by what volumes may reserve of
// them, not by the reservations the agent reports (the scheduler counts
// those itself, from the volumes).
func sameDevices(a, b []v1.NodeStorageDevice) bool {
	strip := func(ds []v1.NodeStorageDevice) []v1.NodeStorageDevice {
		out := make([]v1.NodeStorageDevice, len(ds))
		for i, d := range ds {
			d.Reserved = nil
			out[i] = d
		}
		return out
	}
	return len(a) == len(b) && reflect.DeepEqual(strip(a), strip(b))
}

func sameResources(a, b v1.ResourceList) bool {
	return maps.EqualFunc(a, b, func(x, y resource.Quantity) bool { return x.Cmp(y) == 0 })
}

func nodeReadyStatus(node *v1.Node) v1.ConditionStatus {
	for _, c := range node.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status
		}
	}
	return ""
}

// retryUnschedulable queues every pod that found no node, now.
func (s *Scheduler) retryUnschedulable() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.moves++
	for key := range s.unschedulable {
		s.ctrl.Enqueue(key)
	}
}

// MeanEvaluated is the mean number of nodes filtered per decision so far
// (fewer than the cluster's nodes once it is large; see
// framework.NumFeasibleNodesToFind).
func (s *Scheduler) MeanEvaluated() float64 {
	s.decideMu.Lock()
	defer s.decideMu.Unlock()
	if s.decisions == 0 {
		return 0
	}
	return float64(s.evaluated) / float64(s.decisions)
}
