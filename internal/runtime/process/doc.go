// Package process is Kennel's default container runtime: each container is
// a process (in its own process group) of a pod whose sandbox is a cgroup,
// a loopback address and, as root, its own UTS and mount namespaces with
// the pod's /etc/hosts and /etc/resolv.conf.
//
// Layout under the runtime's root directory, one directory per pod UID:
//
//	<uid>/sandbox.json             the sandbox config
//	<uid>/hosts, <uid>/resolv.conf  bind-mounted into the pod's namespace
//	<uid>/containers/<name>.json   the latest and previous start of a container
//	<uid>/logs/<name>/<attempt>.log its output (stdout and stderr, merged)
//
// Everything is written atomically before and after each change, so a
// restarted agent adopts the processes it started: a process is the same
// one only if its pid and its start time (from /proc) both match. While the
// agent is down, containers keep running; their output goes straight to the
// log files, not through the agent.
//
// As root, containers start through a re-executed copy of the agent's own
// binary (see MaybeRunInit) that is cloned into new namespaces, sets the
// hostname, bind-mounts the pod's files, waits until the agent has moved it
// into the pod's cgroup and then executes the container's command in place,
// so no extra process lingers and the container's pid is the init's.
package process
