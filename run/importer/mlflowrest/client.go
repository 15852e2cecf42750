package mlflowrest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gitruns/gitruns/run/mlflowtags"
)

// client makes the calls of MLflow's REST API to one server.
type client struct {
	base    *url.URL // scheme, host and path prefix; no user info
	o       Options
	http    *http.Client
	display string // base as messages show it
}

func newClient(base *url.URL, o Options) (*client, error) {
	tlsConf := &tls.Config{InsecureSkipVerify: o.InsecureTLS}
	if o.CACert != "" {
		pem, err := os.ReadFile(o.CACert)
		if err != nil {
			return nil, fmt.Errorf("read the server's certificates: %w", err)
		}
		tlsConf.RootCAs = x509.NewCertPool()
		if !tlsConf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read the server's certificates: %s holds no PEM certificate", o.CACert)
		}
	}
	tr := &http.Transport{
		TLSClientConfig:        tlsConf,
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  o.Timeout,
		MaxIdleConnsPerHost:    16,
		MaxResponseHeaderBytes: 64 << 10,
	}
	c := &client{base: base, o: o, display: strings.TrimSuffix(base.String(), "/")}
	c.http = &http.Client{Transport: tr, CheckRedirect: c.redirect}
	return c, nil
}

// redirect follows a few redirects on the same host only: the
// credentials of one server are not sent to another.
func (c *client) redirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("more than 5 redirects")
	}
	if req.URL.Host != c.base.Host {
		return fmt.Errorf("redirected to another host (%s)", oneLine(req.URL.Host))
	}
	return nil
}

// apiError is an error MLflow's server answered with.
type apiError struct {
	Status  int
	Code    string // MLflow's error_code, "" when the body had none
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// A fastDecoder decodes the usual shape of an answer faster than
// encoding/json, and says false for anything else.
type fastDecoder interface {
	decodeFast(b []byte) bool
}

// api calls endpoint (below /api/2.0/mlflow/) with query for a GET, or
// with body as JSON for a POST, and decodes the answer into out.
func (c *client) api(ctx context.Context, method, endpoint string, query url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	resp, err := c.do(ctx, method, "/api/2.0/mlflow/"+endpoint, query, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body, c.o.MaxBody)
	if err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %w", endpoint, errorOf(resp.StatusCode, data))
	}
	if f, ok := out.(fastDecoder); ok && f.decodeFast(data) {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: the server's answer is not the JSON MLflow sends: %v", endpoint, err)
	}
	return nil
}

// do sends one request to the server, with the credentials of o.
func (c *client) do(ctx context.Context, method, p string, query url.Values, body io.Reader) (*http.Response, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + p
	u.RawPath = ""
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "git-runs-import")
	switch {
	case c.o.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.o.Token)
	case c.o.Username != "" || c.o.Password != "":
		req.SetBasicAuth(c.o.Username, c.o.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("no answer within %s", c.o.Timeout)
		}
		return nil, fmt.Errorf("cannot reach the MLflow server at %s: %v", c.display, err)
	}
	return resp, nil
}

// readCapped reads r whole, unless it holds more than limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read the server's answer: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the server's answer is larger than %d bytes: refused", limit)
	}
	return data, nil
}

// errorOf is the error of a failed call: MLflow's error_code and message
// when the body has them, else the start of the body.
func errorOf(status int, body []byte) error {
	var e struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		return &apiError{status, oneLine(clip(e.Code, 100)), oneLine(clip(e.Message, 500))}
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &apiError{Status: status, Message: oneLine(clip(msg, 200))}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// oneLine shows the control characters of s, which comes from the
// server, as escapes, and invalid UTF-8 as such, so that a message stays
// one line whatever the server sends.
func oneLine(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// i64 is an int64 of MLflow's JSON: a number, a string holding one, or a
// whole float up to 2^53 (mlflowtags.Int64, which git runs serve reads
// its clients' requests with).
type i64 = mlflowtags.Int64

// f64 is a double of MLflow's JSON: a number, or "NaN", "Infinity" and
// "-Infinity" as protocol buffers' JSON writes what a number cannot say.
type f64 float64

func (f *f64) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch strings.Trim(s, `"`) {
	case "NaN", "nan":
		*f = f64(math.NaN())
		return nil
	case "Infinity", "inf", "+Infinity":
		*f = f64(math.Inf(1))
		return nil
	case "-Infinity", "-inf":
		*f = f64(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(strings.Trim(s, `"`), 64)
	if err != nil {
		return fmt.Errorf("metric value %s is not a number", clip(s, 40))
	}
	*f = f64(v)
	return nil
}
