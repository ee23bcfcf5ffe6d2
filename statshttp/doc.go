// Package statshttp serves longlink's statistics snapshots as JSON over
// HTTP, for people and scripts to look at a running consumer, in the spirit
// of Spring Boot's actuator endpoints: which providers each client follows,
// in which state, how many calls, and every connection with its heartbeat
// round trip.
//
//	mux.Handle("/stats", statshttp.New(statshttp.Options{
//		Clients:  []*longlink.Client{greeter, orders},
//		Managers: []*pool.Manager{pool.Default()},
//	}))
//
// The handler answers GET and HEAD (anything else gets 405) with
// Content-Type application/json and Cache-Control no-store. Each request
// takes fresh snapshots (Client.Stats, pool.Manager.Stats); nothing is
// cached or computed in the background.
//
// # JSON shape
//
// The document is a Snapshot. Its shape is stable: every field is always
// present (an empty list is [], an absent error is "", an unknown time is
// null); fields may be added, none will be renamed or removed. States are
// snake_case strings, durations are milliseconds as numbers (fractions
// allowed), errors are their message strings, times are RFC 3339.
//
//	{
//	  "time": "2025-01-02T15:04:05.123456789Z",
//	  "clients": [{
//	    "service": "Greeter",
//	    "sticky": "",                            // the address calls stick to, if any
//	    "providers": [{
//	      "addr": "10.0.0.7:20880",
//	      "state": "ready",                      // idle, connecting, ready, backing_off, draining, closed
//	      "weight": 100,                         // now, after warm-up
//	      "in_flight": 0, "calls": 1042, "failures": 1,   // this client's
//	      "instance": {"id": "...", "version": "", "group": "", "weight": 100,
//	                   "tags": [], "meta": {}, "started_at": null},
//	      "pool": { ...a pool, as below... }
//	    }]
//	  }],
//	  "pools": [{                                // every pool of the Managers, by address
//	    "addr": "10.0.0.7:20880",
//	    "state": "ready",
//	    "size": 1,                               // connections wanted
//	    "dialling": 0,
//	    "dials": 2, "dial_failures": 0, "redials": 1, "evictions": 1,
//	    "last_error": "",                        // the last dial error while backing off
//	    "retry_in_ms": 0,                        // while backing off, until the next dial
//	    "connections": [{
//	      "addr": "10.0.0.7:20880",
//	      "state": "ready",                      // ready, draining, closed
//	      "in_flight": 0, "calls": 1042, "failures": 0, "pings": 12,
//	      "last_heartbeat_rtt_ms": 0.153,
//	      "error": ""                            // why it closed
//	    }]
//	  }]
//	}
//
// A provider's "pool" and the matching entry of "pools" describe the same
// pool when the client uses one of the Managers.
//
// # Non-goals
//
// No HTML, no authentication or access control (mount it where only
// operators reach it), no write operations, no history: one snapshot per
// request. Metrics over time belong to a metrics system (package
// metrics/prometheus).
package statshttp
