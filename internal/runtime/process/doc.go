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
// As root, a container is forked from an OS thread of the agent that has
// first been moved into new UTS and mount namespaces (hostname set, the
// pod's files bind-mounted) and, on cgroup v1, into the pod's cgroup; the
// child inherits all of it and is born in place, so nothing of it ever
// runs outside its limits, and no helper process lingers. On cgroup v2
// the child is cloned straight into the group (CLONE_INTO_CGROUP). The
// thread is never returned to the Go scheduler. Exec enters a running
// container's namespaces the same way.
package process
