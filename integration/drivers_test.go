//go:build integration

package integration

// The QEMU driver registers itself with driver.Open for qemu:// and the remote schemes.
import _ "github.com/vmoments/vmoments/driver/qemu"
