package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmoments/vmoments/driver"
	_ "github.com/vmoments/vmoments/driver/qemu"
	"github.com/vmoments/vmoments/transfer"
)

// An import that Ctrl-C, SIGTERM or SIGHUP interrupts rolls back by itself; one that a SIGKILL,
// the OOM killer or a power cut ended leaves its journal, and the next run finds it: it either
// finishes the import (the same export again) or rolls it back.
func Example_journal() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	drv, err := driver.Open(ctx, "qemu:///system", driver.ReadWrite)
	if err != nil {
		log.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, "guest1")
	if err != nil {
		log.Fatal(err)
	}
	dir, err := transfer.DefaultJournalDir() // /var/lib/vmoments for root
	if err != nil {
		log.Fatal(err)
	}
	// What a killed import left, if anything.
	if info, err := transfer.PendingJournal(dir, drv.URI(), dom.UUID()); err != nil {
		log.Fatal(err) // a journal that cannot be trusted (errors.Is(err, transfer.ErrJournal))
	} else if info != nil && info.Export.From != "/backup/guest1.tar" {
		// Another export's import: undo it first (ctx stops it between two undo steps,
		// keeping the journal for the next try).
		res, err := transfer.Rollback(ctx, dom, transfer.RollbackOptions{JournalDir: dir})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("rolled back %d changes of the import from %s\n", res.Undone, info.Export.From)
	}
	// Finishes the unfinished import of the same export, or makes a new one.
	res, err := transfer.Import(ctx, dom, "/backup/guest1.tar", transfer.ImportOptions{JournalDir: dir})
	var se *transfer.StepError
	switch {
	case errors.Is(err, context.Canceled) && errors.As(err, &se) && se.RollbackErr == nil:
		fmt.Println(err) // "import interrupted (context canceled): rolled back 869 changes, ..."
	case err != nil:
		log.Fatal(err)
	case res.Resumed:
		fmt.Println("finished the import a crash had interrupted")
	default:
		fmt.Println(res.Redefined, "moments redefined")
	}
}
