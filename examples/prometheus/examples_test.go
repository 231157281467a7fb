// Package prometheus_test checks the Prometheus examples: the alert rules and their unit tests
// with promtool, the configurations, the Grafana dashboard's queries, and the web configuration
// with a running exporter (TLS and basic auth).
package prometheus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	_ "github.com/vmoments/vmoments/driver/test"
	"github.com/vmoments/vmoments/exporter"
	"github.com/vmoments/vmoments/fleet"
)

// promtool runs Debian's promtool (package prometheus) and fails the test with its output.
func promtool(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is needed (apt-get install prometheus): ", err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestAlertRules(t *testing.T) {
	out := promtool(t, "check", "rules", "vmoments-alerts.yml")
	if !strings.Contains(out, "SUCCESS: 7 rules found") {
		t.Errorf("promtool check rules: %s", out)
	}
	// Every alert has a unit test of its own.
	rules, tests := readFile(t, "vmoments-alerts.yml"), readFile(t, "vmoments-alerts_test.yml")
	for _, m := range regexp.MustCompile(`(?m)^\s*- alert: (\w+)`).FindAllStringSubmatch(rules, -1) {
		if !strings.Contains(tests, "alertname: "+m[1]+"\n") {
			t.Errorf("alert %s has no test in vmoments-alerts_test.yml", m[1])
		}
	}
	if out := promtool(t, "test", "rules", "vmoments-alerts_test.yml"); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules: %s", out)
	}
}

func TestConfigs(t *testing.T) {
	for _, f := range []string{"prometheus.yml", "federate.yml"} {
		if out := promtool(t, "check", "config", f); !strings.Contains(out, "is valid prometheus config file syntax") {
			t.Errorf("%s: %s", f, out)
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// servedFamilies returns the names of the metric families the exporter describes.
func servedFamilies(t *testing.T) []string {
	t.Helper()
	node, _ := filepath.Abs("../../exporter/testdata/node.xml")
	e, err := exporter.New(fleet.Options{URIs: []string{"test://" + node}}, exporter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ch := make(chan *prometheus.Desc, 100)
	e.Describe(ch)
	close(ch)
	var names []string
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		names = append(names, re.FindStringSubmatch(d.String())[1])
	}
	return names
}

// TestDashboardAndNames: the dashboard is JSON, each of its queries is valid PromQL (promtool
// checks them as recording rules), and every vmoments_ family the dashboard and the alerts use
// is one the exporter serves and METRICS.md documents.
func TestDashboardAndNames(t *testing.T) {
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal([]byte(readFile(t, "grafana-dashboard.json")), &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
			q, _ := json.Marshal(tg.Expr) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: panel_%d\n        expr: %s\n", len(exprs), q)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := promtool(t, "check", "rules", path); !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", len(exprs))) {
		t.Errorf("the dashboard's queries: %s", out)
	}
	served := servedFamilies(t)
	doc := readFile(t, "../../exporter/METRICS.md")
	for _, f := range served {
		if !strings.Contains(doc, "`"+f+"`") {
			t.Errorf("METRICS.md does not document %s", f)
		}
	}
	used := readFile(t, "vmoments-alerts.yml") + strings.Join(exprs, "\n")
	for _, v := range dash.Templating.List {
		used += "\n" + v.Definition
	}
	for _, name := range regexp.MustCompile(`vmoments_[a-z_]+`).FindAllString(used, -1) {
		if !slices.Contains(served, name) {
			t.Errorf("%s is used in the examples but the exporter serves no such family", name)
		}
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vmoments test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return cert, key
}

// TestWebConfig serves the exporter with web-config.yml (its certificate paths pointed at a
// throw-away certificate): promtool accepts the file, the exporter answers over TLS, and only
// with the example's user and password ("prometheus", "example").
func TestWebConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	cfg := strings.NewReplacer("/etc/vmoments/tls.crt", cert, "/etc/vmoments/tls.key", key).Replace(readFile(t, "web-config.yml"))
	path := filepath.Join(dir, "web-config.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := promtool(t, "check", "web-config", path); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check web-config: %s", out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	node, _ := filepath.Abs("../../exporter/testdata/node.xml")
	e, err := exporter.New(fleet.Options{URIs: []string{"test://" + node}}, exporter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.ListenAndServe(ctx, exporter.ServeOptions{Listen: []string{addr}, WebConfigFile: path})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
	}()
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(user, pass string) (int, string) {
		req, _ := http.NewRequest("GET", "https://"+addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		var resp *http.Response
		for try := 0; ; try++ {
			if resp, err = client.Do(req); err == nil || try == 50 {
				break
			}
			time.Sleep(100 * time.Millisecond) // the server is starting
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("prometheus", "example"); code != 200 || !strings.Contains(body, "vmoments_up{uri=") {
		t.Errorf("with the example's password: %d\n%.300s", code, body)
	}
	for _, pw := range []string{"", "wrong"} {
		if code, _ := get("prometheus", pw); code != 401 {
			t.Errorf("password %q: status %d, want 401", pw, code)
		}
	}
	if code, _ := get("", ""); code != 401 {
		t.Errorf("no credentials: status %d, want 401", code)
	}
}
