package capture

import (
	"time"

	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/sysmon"
)

// systemSampler samples the machine and the command's process tree into
// a run while the command runs (docs/CAPTURE.md, "System metrics").
type systemSampler struct {
	r        *live.Run
	interval time.Duration
	start    time.Time
	mon      *sysmon.Monitor
}

// newSystemSampler returns the sampler of o for r; nil when o asks for
// none.
func newSystemSampler(r *live.Run, o ExecOptions) *systemSampler {
	if o.NoSystemMetrics {
		return nil
	}
	start := time.Now()
	if rec, err := r.Record(); err == nil && !rec.Started.IsZero() {
		start = rec.Started // steps count from the run's own start
	}
	return &systemSampler{r: r, interval: o.SystemInterval, start: start}
}

// started begins sampling the command, process pid.
func (s *systemSampler) started(pid int) {
	if s == nil {
		return
	}
	r := s.r
	s.mon = sysmon.Start(sysmon.Options{
		PID: pid, Interval: s.interval, Start: s.start,
		Log: func(p sysmon.Point) { r.LogMetricAt(p.Key, p.Value, p.Step, p.Time) },
	})
}

// stop takes the last sample and ends sampling.
func (s *systemSampler) stop() {
	if s != nil {
		s.mon.Stop()
	}
}
