package registry

// StopRefresher stops the TTL refresher of a Consul registration without
// deregistering it, so that its TTL check expires: a provider that hangs.
func StopRefresher(r Registration) { r.(*consulRegistration).stopRefresh() }
