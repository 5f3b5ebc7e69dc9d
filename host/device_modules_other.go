//go:build !unix

package host

import "sync"

// modulesLock stands in for flock where it is missing: it excludes the
// holders of this process only.
var modulesLock sync.Mutex

func lockFile(string) (unlock func(), err error) {
	modulesLock.Lock()
	return modulesLock.Unlock, nil
}
