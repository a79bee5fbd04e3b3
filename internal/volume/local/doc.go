// Package local is the kennel.io/local driver: volumes carved from a node
// storage device's pool directory, as plain directories or loop-device
// filesystems.
//
// A volume named pvc-<claimUID> lives in <pool>/kennel-volumes/ as
//
//   - a directory pvc-<claimUID> (the class sets no fsType). It is mode
//     0777, as Kubernetes' local-path provisioner makes them, so pods that
//     run as any user can write to it. A directory enforces nothing: its
//     size is a reservation the scheduler counts, not a quota, and a pod
//     may fill the whole pool. Use a loop filesystem where size matters.
//   - a sparse file pvc-<claimUID>.img (the class sets fsType, Kennel runs
//     as root) formatted with mkfs.<fsType> and used through a loop
//     device. The filesystem is the size of the claim, so writes past it
//     fail with ENOSPC; blocks are allocated in the pool as they are
//     written. Its root directory is also mode 0777.
//
// Provision, Delete, MountImage and UnmountImage are the driver
// primitives the agent calls; each is idempotent and leaves nothing
// behind when it fails. Provisioner is the node provisioner that runs in
// the agent: it carves volumes for the claims selected for its node,
// creates their PersistentVolumes, and deletes the data of released
// volumes whose reclaim policy is Delete. It is the only writer of
// volumes on its node's devices, and provisions one claim at a time, so
// its check that a volume fits its device is what guarantees that no
// device is over-committed.
package local
