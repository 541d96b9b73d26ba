package service

// StopRank is a component's place in the appendix's stop order, from 1, for
// the steps outside this package that place their undos by it (the
// co-located Directory Server's, steps/dsinstance_steps.go).
func StopRank(c Component) int { return stopRank(c) }

// StartRank is its place in the start order, from 1.
func StartRank(c Component) int { return startRank(c) }
