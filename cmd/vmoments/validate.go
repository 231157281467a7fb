package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
)

// schemaDir is where libvirt installs its RelaxNG schemas (virt-xml-validate reads them there).
var schemaDir = "/usr/share/libvirt/schemas"

// runValidate checks each file in two steps: libvirt's parse rules (conf, with libvirt's
// messages naming the element and value), for a new moment as snapshot-create FILE and
// checkpoint-create FILE would read it, or with --redefine for a redefinition; then, when
// libvirt's schemas and xmllint are installed, the same RelaxNG check virt-xml-validate makes,
// so validate rejects at least what virt-xml-validate rejects. Each file is read once and those
// bytes are checked (a pipe, /dev/stdin or <(...) too); "-" is standard input.
func runValidate(ctx context.Context, a *app, c *vsh.Parsed) error {
	mode := conf.ParseNew
	if c.Has("redefine") {
		mode = conf.ParseRedefine
	}
	failed, stdinRead := 0, false
	for _, file := range c.Argv() {
		var msg string
		var valid bool
		data, err := a.readInput(file, stdinRead)
		stdinRead = stdinRead || file == "-"
		if err != nil {
			msg = "cannot read: " + err.Error()
		} else {
			msg, valid = validateData(ctx, data, mode)
		}
		if err := ctx.Err(); err != nil {
			return err // interrupted: xmllint was stopped, the verdict on file is unknown
		}
		a.printf("%s: %s\n", file, msg)
		if !valid {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files invalid: %w", failed, len(c.Argv()), errShown)
	}
	return nil
}

// readInput reads the file name, "-" being standard input (once; not in the shell, which reads
// its commands there). Its errors say why without the name (the verdict line names the file).
func (a *app) readInput(name string, stdinRead bool) ([]byte, error) {
	if name == "-" {
		switch {
		case a.imode:
			return nil, errors.New("standard input holds the shell's commands")
		case stdinRead:
			return nil, errors.New("standard input was read for an earlier -")
		}
		return io.ReadAll(a.stdin)
	}
	data, err := os.ReadFile(name)
	var perr *os.PathError
	if errors.As(err, &perr) {
		return nil, perr.Err
	}
	return data, err
}

// validateData returns the verdict on one document, read with libvirt's rules for mode: "ok
// (KIND NAME, as a new one)", "ok (KIND NAME, as a redefinition)" or the reason it fails, and
// whether it passed.
func validateData(ctx context.Context, data []byte, mode conf.ParseMode) (string, bool) {
	as := "as a new one"
	if mode == conf.ParseRedefine {
		as = "as a redefinition"
	}
	d, err := conf.Parse(data, mode)
	if err != nil {
		return "invalid " + as + ": " + err.Error(), false
	}
	if msg := schemaCheck(ctx, data, d.Kind); msg != "" {
		return "invalid " + as + ": " + msg, false
	}
	name := d.Name
	if name == "" {
		name = "without a name: libvirt chooses one"
	}
	return "ok (" + d.Kind.String() + " " + name + ", " + as + ")", true
}

var xmllintLocation = regexp.MustCompile(`:(\d+): element ([^:]+): Relax-NG`)

// schemaCheck runs xmllint with libvirt's schema for kind on data (given on its standard
// input); "" when the document passes or the schema or xmllint is not installed.
func schemaCheck(ctx context.Context, data []byte, kind conf.Kind) string {
	rng := filepath.Join(schemaDir, "domain"+kind.String()+".rng")
	if _, err := os.Stat(rng); err != nil {
		return ""
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		return ""
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, xmllint, "--noout", "--relaxng", rng, "-")
	cmd.Stdin, cmd.Stderr = bytes.NewReader(data), &stderr
	if cmd.Run() == nil {
		return ""
	}
	// xmllint says "-:LINE: element E: Relax-NG validity error : MESSAGE" (the location may be
	// missing) and then "- fails to validate": keep the first message and its location.
	for _, line := range strings.Split(stderr.String(), "\n") {
		_, msg, found := strings.Cut(line, "Relax-NG validity error : ")
		if !found {
			continue
		}
		where := ""
		if m := xmllintLocation.FindStringSubmatch(line); m != nil {
			where = fmt.Sprintf(" (line %s, element %s)", m[1], m[2])
		}
		return fmt.Sprintf("libvirt's schema %s rejects it: %s%s", filepath.Base(rng), msg, where)
	}
	return "libvirt's schema " + filepath.Base(rng) + " rejects it"
}
