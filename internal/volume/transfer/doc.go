// Package transfer copies one directory tree — a volume's files — from
// the node agent that holds it to another agent, over HTTPS, so that a
// pet can move between clusters with its data.
//
// The source serves the tree read-only with a Handler: GET <base>/manifest
// lists every directory, regular file and symlink (never following a
// link, never leaving the root), and GET <base>/file?path=P&offset=O
// streams a file's bytes from O with the SHA-256 of the whole file in an
// HTTP trailer. The target pulls it with Restore, which pins the
// source's certificate, presents a bearer token, verifies every file
// end to end and keeps a state file so that a copy cut off at any point
// (a cancelled context, a dropped connection, a restarted process)
// resumes where it stopped, down to the middle of a file.
//
// Vocabulary:
//
//	root        the directory served (the source volume's root)
//	dir         the directory restored into (the target volume's root)
//	manifest    the sorted entries of the root, with sizes and modes
//	state file  what a restore has completed, kept outside dir
//	checkpoint  a flush of dir's filesystem, then of the state file
package transfer
