// Package transient decides which failed API requests are worth repeating
// and repeats them, so that a run survives the API server restarting,
// shedding load or losing its etcd leader for a few seconds.
//
// IsTransient sorts errors: overload and unavailability answers (429, 500,
// 502, 503, 504 and the server-timeout reasons) and broken or refused
// connections are transient; every other answer (403, 404, 409, 422, ...),
// certificate problems and the caller's own context ending are not, because
// asking again cannot change them. Conflicts are the caller's business: it
// re-reads and re-applies.
//
// A Retrier repeats transient failures with capped, jittered exponential
// backoff. One Retrier serves all the concurrent requests of a run and keeps
// one clock for an outage: it starts at the first failure after the server
// last answered and stops at the next answer. When the server has been away
// for the whole budget, the Retrier trips and every request, waiting or yet
// to come, returns the same *ServerAwayError at once, so a run with
// thousands of pending objects stops after one budget rather than one per
// object, and its caller can say so in one line.
//
// Retrying does not know whether a failed request reached the server, so
// callers use it for requests that are safe to repeat: server-side apply,
// reads, deletes.
package transient
