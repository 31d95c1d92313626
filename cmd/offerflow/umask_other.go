//go:build !unix

package main

// restrictUmask has nothing to set where there is no umask; the files'
// modes are set explicitly (secureDataDir).
func restrictUmask() {}
