// Command vmoments shows and changes the snapshots and checkpoints of libvirt domains and moves
// their metadata between hosts. Its moment commands are drop-ins for virsh 9.0's, the reading
// ones (snapshot-list, -info, -dumpxml, -current, -parent and their checkpoint twins) and the
// changing ones (snapshot-create, -create-as, -edit, -revert, -delete, snapshot-current NAME,
// checkpoint-create, -create-as, -edit, -delete): same options, same output byte for byte, same
// errors and exit status. On qemu:// a delete with children never crashes libvirtd 9.0 (the
// driver deletes one snapshot at a time). vmoments adds what virsh cannot do: a filter on
// the current moment (--only-current, --no-current), the current moment of each disk
// (--per-disk), the current checkpoint (checkpoint-current), JSON (--json, documented in
// JSON.md), Graphviz (--dot), filtered trees (--forest) and an offline XML check (validate).
// export, import and copy save a domain's moment metadata and redefine it elsewhere.
//
//	vmoments [OPTIONS] COMMAND [ARGS]            run one command
//	vmoments [OPTIONS] 'CMD1 ...; CMD2 ...'      run several, as virsh does with one argument
//	vmoments [OPTIONS] < script                  run the commands of standard input, one per line
//	vmoments [OPTIONS]                           on a terminal: the shell, "vmoments # "
//	vmoments help [COMMAND|GROUP]                the commands by group, one command, one group
//	source <(vmoments completion bash)           complete vmoments in bash (or zsh)
//
// The options are virsh's: -c/--connect URI (else $VIRSH_DEFAULT_CONNECT_URI, else
// $LIBVIRT_DEFAULT_URI, else libvirt's default), -r, -q, -t (the time of each command),
// -d LEVEL (virsh's debug lines on stdout; also $VIRSH_DEBUG), -l FILE (a log of the errors and
// debug lines; also $VIRSH_LOG_FILE), -e (checked; vmoments has no console), -k and -K (see
// below), -h, -v. The changing commands change what virsh's do; import and copy change only
// moment metadata.
//
// Around the commands is virsh's shell (shell.go): with no command on the command line the
// commands come from standard input as virsh reads them in its interactive mode, each line a
// command string, the prompt and (from a pipe) the line echoed as virsh's readline echoes them;
// on a terminal with line editing, Tab completion and a history (~/.cache/vmoments/history).
// echo, cd, pwd, quit, exit, connect and help are virsh's, and so are the hidden complete and
// self-test. A command line exits with the status of its last command; the shell exits 0.
//
//	vmoments report [--connect URI]... [PATTERN...]    every domain of many hosts, in one table
//	vmoments exporter [--listen ADDR] [--connect URI]...  the same as Prometheus metrics
//
// The code: commands.go is the command table (each command's options, help and run function);
// each command lives in the file named after it (list.go, current.go, info.go, dumpxml.go,
// parent.go, snapshot_create.go, checkpoint_create.go, snapshot_edit.go with edit.go,
// snapshot_revert.go, delete.go, validate.go, export.go, import.go, copy.go, report.go,
// exporter.go, help.go, echo.go, cd.go, quit.go, connect.go, complete.go, completion.go;
// change.go and xmlbuf.go hold what the
// changing ones share); app.go parses and dispatches with internal/vsh, virsh's parser;
// shell.go reads the commands of standard input; globals.go does what -d, -l, -e, -k and -K
// ask; internal/vshfmt draws virsh's tables and trees. report and exporter read many hosts at
// once (packages fleet and exporter; REPORT.md).
//
// # Where vmoments differs from virsh
//
// The golden tests (golden_test.go, shell_golden_test.go, completion_test.go,
// integration_test.go) run virsh and vmoments on the same libvirt state and compare stdout,
// stderr and the exit status byte for byte. What they cannot make equal, and why:
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
//   - snapshot-dumpxml and checkpoint-dumpxml refuse --xpath (pipe to xmllint --xpath instead).
//   - snapshot-create and snapshot-create-as with --halt: when libvirt answers "invalid argument",
//     virsh 9.0 retries without the flag and destroys the domain itself (an emulation for libvirt
//     before 0.9.5). With libvirt 9.0 the retry can only succeed for --redefine --halt, which
//     libvirt refuses on purpose; virsh then redefines and destroys a running guest. vmoments
//     prints libvirt's refusal ("Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' and
//     'VIR_DOMAIN_SNAPSHOT_CREATE_HALT' are mutually exclusive") and changes nothing. (For other
//     refusals with --halt the retry fails the same way, and the output is virsh's, except on a
//     transient domain, where virsh says "cannot halt after snapshot of transient domain".)
//   - snapshot-revert --force: virsh reverts without VIR_DOMAIN_SNAPSHOT_REVERT_FORCE first and
//     adds it when libvirt calls the revert risky; vmoments passes it at once. The flag only
//     lifts the risky-revert refusals, so the revert and its errors are the same.
//   - snapshot-edit and checkpoint-edit when libvirt refuses the edited XML and standard input
//     is not a terminal: virsh 9.0 prints "error: Failed." and crashes (SIGSEGV: it goes on with
//     the moment it failed to define); vmoments prints the same line, "Failed to update NAME" and
//     libvirt's reason, and exits 1. On a terminal both ask "Try again? [y,n,f,?]"; at the end of
//     input (no key) vmoments gives up as with "n" where virsh would ask forever.
//   - snapshot-delete --children / --children-only on qemu:// (also with --metadata): libvirt
//     9.0's libvirtd crashes on some branched subtrees; vmoments deletes the descendants one at a
//     time, leaves first, and ends where libvirt's own delete is documented to end (current
//     included). Same output; should one of the deletes fail, the error says which were deleted.
//   - --json (changing commands, snapshot-parent, checkpoint-parent) and the current commands'
//     rule for "no current moment" are vmoments' own (JSON.md): every form exits 1 with virsh's
//     "domain 'D' has no current snapshot"; checkpoint-current adds why in parentheses.
//   - Ctrl-C (SIGINT), SIGTERM and SIGHUP during a command: virsh dies at once, wherever its
//     command was. vmoments stops the command at its next step (an export removes what it wrote,
//     an import or copy rolls back and says what it undid), prints "error: interrupted by SIGINT"
//     (or SIGTERM, SIGHUP), runs no further command, ends the shell too, and exits 130 (143,
//     129). A second signal ends it at once, except during an import's or a copy's rollback,
//     where it says how many undo steps remain and a third abandons the rollback (the journal
//     stays for import --rollback). A signal that arrives while libvirt itself works (opening a
//     large test:/// node file) takes effect when libvirt returns. Ctrl-C at the shell's prompt
//     ends vmoments by SIGINT, as it ends virsh, but vmoments saves the history first (virsh
//     loses the session's).
//   - -v, -V and --version print "vmoments VERSION (libvirt 9.0.0)": vmoments' version (set at
//     build time, see version.go) and the libvirt library's; virsh -v prints libvirt's version
//     alone, -V a longer block. -h prints vmoments' usage in virsh's layout.
//   - A command line whose commands need no connection (help, validate, echo) does not connect,
//     even with -c; virsh connects to -c's URI first, and fails when it cannot. The shell
//     connects to -c's URI at start-up, as virsh.
//   - -k N (N > 0) and -K: vmoments' connections send no keepalive messages (as virsh -k 0). On
//     libvirt's test driver, which refuses keepalive, the connection fails exactly as virsh's;
//     elsewhere vmoments refuses them with its own message instead of keeping the connection
//     alive as virsh would. -k 0 is accepted everywhere.
//   - The shell: the prompt and the banner say vmoments; a Tab in lines read from a pipe is a
//     blank (virsh's readline completes file names there), and other control characters but
//     carriage return and Ctrl-D at a line's start are characters (readline edits with them); a
//     history is kept only on a terminal (virsh's readline keeps one for piped input too). On a
//     terminal the line editor is github.com/peterh/liner, not GNU readline: its keys are the
//     common Emacs ones, Tab lists the candidates at the second press, and Ctrl-C prints "^C"
//     and a newline where readline prints "^C".
//   - complete lists vmoments' commands and options; a domain's snapshot and checkpoint names
//     come from the driver (for the <domain> option of snapshot and checkpoint commands, the
//     domains that have some, as virsh asks libvirt for them). It connects only to list names
//     (virsh connects first, and completes nothing, not even a command, when it cannot).
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
	a.stdin, a.stdinTTY = os.Stdin, isTerminal(os.Stdin)
	status := a.main(os.Args[1:])
	sigs.stop()
	os.Exit(status)
}
