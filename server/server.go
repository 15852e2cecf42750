// Package server is git-runs' HTTP server: MLflow's tracking API over a
// repository's runs (package server/mlflow) and the web UI's API
// (server/ui), bound to loopback unless told otherwise, and behind a token
// whenever it is not.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run/tracker"
	"github.com/gitruns/gitruns/server/mlflow"
	"github.com/gitruns/gitruns/server/ui"
)

// Options configure a Server.
type Options struct {
	Addr string // host:port to listen on; "127.0.0.1:5000" when ""
	// Token, when set, must come with every request, as a bearer token or
	// as the password of basic authentication (which MLflow's clients send
	// from MLFLOW_TRACKING_TOKEN and MLFLOW_TRACKING_PASSWORD). It is
	// required to listen beyond loopback.
	Token string
	// Idle is how long a run may go without a call from its client before
	// it is ended as crashed; tracker.DefaultIdle when zero.
	Idle time.Duration
	// ClientGrace is how long a run whose client process (on this
	// machine, when it was found) died may stay silent before it is
	// ended; tracker.DefaultClientGrace when zero.
	ClientGrace time.Duration
	// MLflow tunes the API.
	MLflow mlflow.Options
}

// Server serves a tracker's runs over HTTP.
type Server struct {
	t      *tracker.Tracker
	h      *tracker.Hosted
	o      Options
	ln     net.Listener
	http   *http.Server
	api    *mlflow.Server
	sweepC chan struct{}
}

// ErrTokenRequired is returned by New for an address beyond loopback
// without a token.
var ErrTokenRequired = errors.New("a server reachable beyond this machine needs a token: give --token or GITRUNS_SERVE_TOKEN")

// New listens on o.Addr and returns the server of t's runs, which takes
// back the runs an earlier server of the repository left live.
func New(t *tracker.Tracker, o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:5000"
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w", o.Addr, err)
	}
	if !Loopback(host) && o.Token == "" {
		return nil, ErrTokenRequired
	}
	h, err := t.Host(tracker.HostOptions{Idle: o.Idle, ClientGrace: o.ClientGrace})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		h.Close()
		return nil, err
	}
	s := &Server{t: t, h: h, o: o, ln: ln, sweepC: make(chan struct{})}
	s.api = mlflow.New(t, h, o.MLflow)
	uiAPI, pages := ui.New(t), ui.NewPages()
	// Dispatched by prefix, not by http.ServeMux: it would clean paths and
	// redirect, and artifact paths must reach their validator as sent.
	route := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, ui.Prefix):
			uiAPI.ServeHTTP(w, r)
			return
		case pages.Serves(r.URL.Path):
			pages.ServeHTTP(w, r)
			return
		}
		s.api.ServeHTTP(w, r)
	})
	s.http = &http.Server{
		Handler:           s.guard(route),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	return s, nil
}

// Loopback tells whether host names this machine only.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL is the address clients reach the server at.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String()
}

// Hosted returns the runs the server records.
func (s *Server) Hosted() *tracker.Hosted { return s.h }

// Serve answers requests until ctx is done, then lets go of the runs it
// records without ending them: the next server takes them back.
func (s *Server) Serve(ctx context.Context) error {
	go s.sweep(ctx)
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	var err error
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.http.Shutdown(sctx)
		cancel()
	case err = <-errc:
	}
	<-s.sweepC
	if cerr := s.h.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// sweep ends abandoned runs now and then.
func (s *Server) sweep(ctx context.Context) {
	defer close(s.sweepC)
	tick := time.NewTicker(s.h.SweepEvery())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.h.Sweep(now)
		}
	}
}

// guard refuses requests without the token, when there is one, and
// requests whose Host names another site (DNS rebinding: a web page
// reaching a loopback server through a name it controls).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.o.Token == "" && !loopbackHost(r.Host) {
			http.Error(w, `{"error_code":"PERMISSION_DENIED","message":"this server answers requests to localhost only"}`, http.StatusForbidden)
			return
		}
		if s.o.Token != "" && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git runs serve"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error_code":"UNAUTHENTICATED","message":"a valid token is required"}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	given := ""
	if _, pw, ok := r.BasicAuth(); ok {
		given = pw
	} else if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		given = tok
	}
	return subtle.ConstantTimeCompare([]byte(given), []byte(s.o.Token)) == 1
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	return host == "" || Loopback(host)
}
