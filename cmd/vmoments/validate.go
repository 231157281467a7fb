package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// runValidate checks each file in two steps: libvirt's parse rules for redefinition (conf,
// with libvirt's messages naming the element and value), then, when libvirt's schemas and
// xmllint are installed, the same RelaxNG check virt-xml-validate makes, so validate rejects
// at least what virt-xml-validate rejects.
func runValidate(ctx context.Context, a *app, c *vsh.Parsed) error {
	failed := 0
	for _, file := range c.Argv() {
		msg, valid := validateFile(ctx, file)
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

// validateFile returns the verdict on one file, "ok (KIND NAME)" or the reason it fails, and
// whether it passed.
func validateFile(ctx context.Context, file string) (string, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		var perr *os.PathError
		if errors.As(err, &perr) {
			return "cannot read: " + perr.Err.Error(), false
		}
		return "cannot read: " + err.Error(), false
	}
	d, err := conf.Parse(data, conf.ParseRedefine)
	if err != nil {
		return "invalid: " + err.Error(), false
	}
	if msg := schemaCheck(ctx, file, d.Kind); msg != "" {
		return "invalid: " + msg, false
	}
	return "ok (" + d.Kind.String() + " " + d.Name + ")", true
}

var xmllintLocation = regexp.MustCompile(`:(\d+): element ([^:]+): Relax-NG`)

// schemaCheck runs xmllint with libvirt's schema for kind; "" when the file passes or the schema
// or xmllint is not installed.
func schemaCheck(ctx context.Context, file string, kind conf.Kind) string {
	rng := filepath.Join(schemaDir, "domain"+kind.String()+".rng")
	if _, err := os.Stat(rng); err != nil {
		return ""
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		return ""
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, xmllint, "--noout", "--relaxng", rng, file)
	cmd.Stderr = &stderr
	if cmd.Run() == nil {
		return ""
	}
	// xmllint says "FILE:LINE: element E: Relax-NG validity error : MESSAGE" (the location may
	// be missing) and then "FILE fails to validate": keep the first message and its location.
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
