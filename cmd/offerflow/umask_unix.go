//go:build unix

package main

import "syscall"

// restrictUmask makes every file and directory the process creates private
// to its user (0600, 0700), SQLite's -wal and -shm files included, whatever
// the umask it was started with.
func restrictUmask() { syscall.Umask(0o077) }
