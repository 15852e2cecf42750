package live

// BackgroundFlush runs the flush that the timer of LogMetric runs, for
// tests that must know it happened.
func (r *Run) BackgroundFlush() { r.backgroundFlush() }
