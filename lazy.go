package longlink

// Lazy connection (ClientOptions.Lazy), and how it avoids Dubbo's lazy-mode
// bugs:
//
//   - No connection until the first call: a provider's pool is acquired when
//     the provider is discovered, but acquiring dials nothing; only
//     pool.Pool.Conn, on the first call routed there, starts the dial.
//   - Concurrent first calls share one dial: only the pool's maintainer
//     goroutine dials; callers wait for it (within their deadlines), never
//     behind one another's locks.
//   - A failed lazy dial does not stick: the maintainer retries it in the
//     background with backoff, and meanwhile routing skips the provider
//     instead of failing every call to it.
//   - Sharing survives lazy mode: a lazy client acquires the same shared
//     pool as any other client of the address.
//   - The first call after a provider restart does not time out waiting on a
//     dead connection: heartbeats evicted it and the pool redialled, or
//     routing chose another provider.

// connectUnlessLazy starts dialling ep's provider now unless the client is lazy.
func connectUnlessLazy(ep *endpoint, lazy bool) {
	if !lazy {
		ep.pool.Connect()
	}
}
