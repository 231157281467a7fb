// Command redefcmds writes, for an export made by `vmoments export`, the two virsh command
// files of bench/run's import benchmark: one that redefines every snapshot of the export the
// way a user would with virsh alone (`snapshot-create DOMAIN --redefine FILE`, parents first,
// the current snapshot once more with --current at the end), and one that forgets them again
// (`snapshot-delete DOMAIN NAME --metadata`, children first). Both are read by a single
// `virsh -c URI` process from stdin.
//
//	redefcmds -export DIR -domain NAME -redefine redefine.cmds -drop drop.cmds
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type manifest struct {
	CurrentSnapshot string `json:"current_snapshot"`
	Moments         []struct {
		Kind, Name, File string
	} `json:"moments"`
}

func main() {
	export := flag.String("export", "", "export directory")
	domain := flag.String("domain", "", "domain name")
	redefine := flag.String("redefine", "", "file for the redefine commands")
	drop := flag.String("drop", "", "file for the delete commands")
	flag.Parse()
	if err := run(*export, *domain, *redefine, *drop); err != nil {
		fmt.Fprintln(os.Stderr, "redefcmds:", err)
		os.Exit(1)
	}
}

// quote quotes a word for virsh's parser (single quotes; a quote inside is closed, escaped,
// reopened).
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func run(export, domain, redefine, drop string) error {
	if export == "" || domain == "" || redefine == "" || drop == "" {
		return fmt.Errorf("-export, -domain, -redefine and -drop are required")
	}
	data, err := os.ReadFile(filepath.Join(export, "manifest.json"))
	if err != nil {
		return err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	var r, d strings.Builder
	current := ""
	for _, e := range m.Moments {
		if e.Kind != "snapshot" {
			continue
		}
		file := quote(filepath.Join(export, e.File))
		fmt.Fprintf(&r, "snapshot-create %s --redefine %s\n", quote(domain), file)
		if e.Name == m.CurrentSnapshot {
			current = file
		}
	}
	if current != "" {
		fmt.Fprintf(&r, "snapshot-create %s --redefine %s --current\n", quote(domain), current)
	}
	for i := len(m.Moments) - 1; i >= 0; i-- {
		if e := m.Moments[i]; e.Kind == "snapshot" {
			fmt.Fprintf(&d, "snapshot-delete %s %s --metadata\n", quote(domain), quote(e.Name))
		}
	}
	if err := os.WriteFile(redefine, []byte(r.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(drop, []byte(d.String()), 0o644)
}
