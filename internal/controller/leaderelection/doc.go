// Package leaderelection elects one leader among control planes through a
// Lease object in the API, so that two control planes never run the same
// controllers at once.
//
// The algorithm is client-go's. A candidate creates the Lease, or takes it
// over when it is free (no holder: released) or expired, writing with the
// resourceVersion it read so that of two racing candidates one gets a
// conflict. The leader renews every RetryPeriod; if it cannot renew for
// RenewDeadline it stops leading (the context given to OnStartedLeading is
// cancelled) and Run returns ErrLeaseLost.
//
// Expiry is judged against the local monotonic clock, never against the
// holder's renewTime: a candidate considers the lease expired only when
// LeaseDuration has passed since it last observed the Lease change. With
// RenewDeadline < LeaseDuration, a leader that cannot renew stops at least
// LeaseDuration−RenewDeadline before anyone else may take over, whatever the
// skew between their wall clocks.
//
// Identities must be unique: a candidate takes back at once a lease that
// names its own identity. Do not delete the Lease while candidates run: a
// missing Lease is created, and held, at once.
package leaderelection
