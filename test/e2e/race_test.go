//go:build race

package e2e

// raceEnabled: this test binary, and so the bulkhead binary it builds, runs
// under the race detector.
const raceEnabled = true
