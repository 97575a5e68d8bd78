package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
)

// Limits of the admin API client.
const (
	apiTimeout      = 30 * time.Second
	maxAPIResponse  = 8 << 20
	maxRequestInput = 64 << 10
)

// adminFlags are the connection flags every administration command takes.
type adminFlags struct {
	addr, token, data string
	json              bool
}

func (e *cli) addAdminFlags(fs *flag.FlagSet) *adminFlags {
	af := &adminFlags{}
	fs.StringVar(&af.addr, "addr", "", "server address (env VIGIL_ADDR; default http://"+config.DefaultListen+")")
	fs.StringVar(&af.token, "token", "", "admin token (env VIGIL_ADMIN_TOKEN; default: read DATA/admin-token)")
	fs.StringVar(&af.data, "data", "", "data directory holding admin-token (env VIGIL_DATA; default "+config.DefaultData+")")
	fs.BoolVar(&af.json, "json", false, "print the raw JSON answer")
	return af
}

// apiClient calls the admin REST API.
type apiClient struct {
	base  string
	token string
	hc    *http.Client
}

// connect resolves the server address and admin token: flags, then the
// environment, then defaults (the token file in the data directory).
func (e *cli) connect(af *adminFlags) (*apiClient, error) {
	addr := e.serverAddr(af.addr)
	tok := firstSet(af.token, e.getenv("VIGIL_ADMIN_TOKEN"))
	if tok == "" {
		path := filepath.Join(firstSet(af.data, e.getenv("VIGIL_DATA"), config.DefaultData), server.AdminTokenFile)
		var err error
		if tok, err = server.ReadSecretFile(path); err != nil {
			return nil, fmt.Errorf("no admin token: pass --token, set VIGIL_ADMIN_TOKEN, or point --data at the server's data directory (%w)", err)
		}
	}
	return &apiClient{base: strings.TrimRight(addr, "/"), token: tok, hc: &http.Client{Timeout: apiTimeout}}, nil
}

// serverAddr returns the base URL of the server a command talks to: flag,
// else VIGIL_ADDR, else the address a local `vigil serve` listens on
// (VIGIL_LISTEN, default 127.0.0.1:8080). A bare host:port gets http://.
func (e *cli) serverAddr(flagValue string) string {
	addr := firstSet(flagValue, e.getenv("VIGIL_ADDR"))
	if addr == "" {
		addr = config.DefaultIssuer(envOr(e.getenv, "VIGIL_LISTEN", config.DefaultListen))
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return strings.TrimRight(addr, "/")
}

// apiError is an error answer from the admin API.
type apiError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *apiError) Error() string {
	if e.Description == "" {
		return fmt.Sprintf("server answered %d %s", e.Status, e.Code)
	}
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Description)
}

// call sends body (JSON, or nil) and returns the answer's body. An error
// status becomes an *apiError.
func (c *apiClient) call(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling the admin API: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAPIResponse))
	if err != nil {
		return nil, fmt.Errorf("reading the admin API's answer: %w", err)
	}
	if res.StatusCode >= 400 {
		ae := &apiError{Status: res.StatusCode}
		if json.Unmarshal(b, ae) != nil || ae.Code == "" {
			ae.Code = http.StatusText(res.StatusCode)
		}
		return nil, ae
	}
	return b, nil
}

// callJSON is call followed by decoding the answer into out.
func (c *apiClient) callJSON(ctx context.Context, method, path string, body []byte, out any) error {
	b, err := c.call(ctx, method, path, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the admin API's answer is not what this version expects: %w", err)
	}
	return nil
}

// printJSON writes a JSON answer indented.
func printJSON(w io.Writer, b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		_, err = w.Write(b)
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// readInput reads a JSON or YAML document from path ("-" is not supported:
// commands take no standard input) and returns it as JSON.
func readInput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRequestInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRequestInput {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxRequestInput)
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return t, nil
	}
	j, err := config.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return j, nil
}
