package ws

import (
	"hash/maphash"
	"sync"
)

type mutex = sync.Mutex

func maphashString(seed maphash.Seed, s string) uint64 { return maphash.String(seed, s) }
