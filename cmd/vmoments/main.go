// Command vmoments shows the snapshots and checkpoints of libvirt domains and moves their
// metadata between hosts. Its read commands are drop-ins for virsh 9.0's (same options, same
// output byte for byte, same errors and exit status) and add what virsh cannot do: a filter on
// the current moment (--only-current, --no-current), the current moment of each disk
// (--per-disk), the current checkpoint (checkpoint-current), JSON (--json, documented in
// JSON.md), Graphviz (--dot), filtered trees (--forest) and an offline XML check (validate).
// export, import and copy save a domain's moment metadata and redefine it elsewhere.
//
//	vmoments [-c URI] [-r] [-q] COMMAND [OPTIONS]   run one command
//	vmoments [-c URI] 'CMD1 ...; CMD2 ...'          run several, as virsh does with one argument
//	vmoments help [COMMAND]                          list the commands, or explain one
//
// The connection is -c/--connect, else $VIRSH_DEFAULT_CONNECT_URI, else $LIBVIRT_DEFAULT_URI,
// else libvirt's default. Only import and copy change anything, and only moment metadata.
//
// The code: commands.go is the command table (each command's options, help and run function);
// each command lives in the file named after it (list.go, current.go, info.go, dumpxml.go,
// validate.go, export.go, import.go, copy.go, help.go); app.go parses and dispatches with
// internal/vsh, virsh's parser; internal/vshfmt draws virsh's tables and trees.
//
// # Where vmoments differs from virsh
//
// The golden tests (golden_test.go, integration_test.go) run virsh and vmoments on the same
// libvirt state and compare stdout, stderr and the exit status byte for byte. What they cannot
// make equal, and why:
//
//   - --topological: siblings come in momentlist's order, virsh's in libvirt's hash order, which
//     nothing can reproduce; both are valid topological orders (the tests compare them as sets).
//   - Names that differ only in case sort in byte order; virsh leaves them in hash order.
//   - Table widths use Unicode's East Asian width and combining-mark tables where virsh asks
//     glibc's wcwidth; they agree but for rare characters.
//   - libvirt's own log lines on stderr ("... warning : ...") carry a time and a PID. vmoments
//     prints them too (the same library runs in-process), and may print them twice when it
//     probes libvirt with a connection of its own first: for libvirt's default URI, and where a
//     read-write connection may be refused (needProbe in connect.go).
//   - snapshot-dumpxml and checkpoint-dumpxml refuse --xpath (pipe to xmllint --xpath instead);
//     snapshot-current refuses --snapshotname (it would change the current snapshot).
//   - Ctrl-C (SIGINT), SIGTERM and SIGHUP: virsh dies at once, wherever its command was.
//     vmoments stops the command at its next step (an export removes what it wrote, an import
//     or copy rolls back and says what it undid), prints "error: interrupted by SIGINT" (or
//     SIGTERM, SIGHUP), runs no further command and exits 130 (143, 129). A second signal ends
//     it at once, except during an import's or a copy's rollback, where it says how many undo
//     steps remain and a third abandons the rollback (the journal stays for import --rollback).
//     A signal that arrives while libvirt itself works (opening a large test:/// node file)
//     takes effect when libvirt returns.
//   - -v, -V and --version print "vmoments VERSION (libvirt 9.0.0)": vmoments' version (set at
//     build time, see version.go) and the libvirt library's; virsh -v prints libvirt's version
//     alone, -V a longer block.
//   - No interactive shell: without a command vmoments prints its usage. -d, -e, -k, -K, -l and
//     -t are accepted and ignored; help and validate never connect, even with -c.
package main

import (
	"context"
	"os"

	_ "github.com/vmoments/vmoments/driver/qemu"
	_ "github.com/vmoments/vmoments/driver/test"
)

// The signals are caught from the first moment Go code runs (before, their default action
// ends the process, which has changed nothing yet).
var runCtx, runSignals = signalContext(context.Background(), os.Stderr)

func main() {
	ctx, sigs := runCtx, runSignals
	a := newApp(os.Stdout, os.Stderr, os.LookupEnv)
	a.ctx, a.sigs = ctx, sigs
	status := a.main(os.Args[1:])
	sigs.stop()
	os.Exit(status)
}
