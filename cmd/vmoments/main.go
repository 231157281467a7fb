// Command vmoments shows the snapshots and checkpoints of libvirt domains. Its list commands
// are drop-ins for virsh 9.0's (same options, same output byte for byte, same errors and exit
// status) and add what virsh cannot do: a filter on the current moment (--only-current,
// --no-current), the current moment of each disk (--per-disk), the current checkpoint
// (checkpoint-current), JSON (--json, documented in JSON.md), Graphviz (--dot), filtered trees
// (--forest) and an offline XML check (validate).
//
//	vmoments [-c URI] [-r] [-q] COMMAND [OPTIONS]   run one command
//	vmoments [-c URI] 'CMD1 ...; CMD2 ...'          run several, as virsh does with one argument
//	vmoments help [COMMAND]                          list the commands, or explain one
//
// The connection is -c/--connect, else $VIRSH_DEFAULT_CONNECT_URI, else $LIBVIRT_DEFAULT_URI,
// else libvirt's default. vmoments never changes anything.
package main

import (
	"os"

	_ "github.com/vmoments/vmoments/driver/qemu"
	_ "github.com/vmoments/vmoments/driver/test"
)

func main() {
	a := newApp(os.Stdout, os.Stderr, os.LookupEnv)
	os.Exit(a.main(os.Args[1:]))
}
