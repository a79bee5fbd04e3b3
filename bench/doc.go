// Package bench holds Kennel's benchmarks. Each compares Kennel with a
// baseline measured in the same process and run (raw etcd for the API),
// and docs/performance.md records the numbers with the command:
//
//	go test ./bench -run '^$' -bench . -benchtime 1x
//
// The tests in this package run the same harnesses at a tiny size so that
// they cannot rot.
package bench
