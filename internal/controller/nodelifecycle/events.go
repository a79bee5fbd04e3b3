package nodelifecycle

// eventSource names this controller in the Events it writes.
const eventSource = "nodelifecycle-controller"

// Event reasons this controller writes.
const (
	// ReasonNodeNotReady is on a node found unreachable and on each pod
	// marked not Ready because of its node.
	ReasonNodeNotReady = "NodeNotReady"
	// ReasonTaintManagerEviction is on each pod deleted because its node
	// is tainted unreachable or not-ready for longer than it tolerates.
	ReasonTaintManagerEviction = "TaintManagerEviction"
)
