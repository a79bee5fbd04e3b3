// Package controller is Kennel's controller runtime: the reconcile loop every
// controller shares, written once in the sample-controller style.
//
// Informer event handlers only enqueue keys (Handler); workers pop a key from
// a rate-limited Queue, call the controller's sync function, which reads
// desired and observed state from caches and converges, and requeue the key
// with exponential back-off when sync fails. A controller supplies only
//
//	func(ctx context.Context, key string) error
//
// and chooses what to do next by what it returns: nil forgets the key's
// back-off; RequeueAfter(d) looks again after d without counting a failure;
// any other error (or a panic) is logged, counted and retried with back-off.
//
// Because sync is level-triggered, a key names an object ("namespace/name",
// or "name" when cluster-scoped), never an event: several events for one
// object collapse into one sync, and one object is never synced by two
// workers at once.
//
// Subpackages: clock is the time seam used by the queue and by tests;
// leaderelection keeps two control planes from running the same controllers
// at once.
package controller
