package vshfmt

import "strings"

// Table is vshTable: a header row and data rows of the same number of cells.
type Table struct {
	rows [][]string
}

// NewTable starts a table with its column headers.
func NewTable(header ...string) *Table {
	return &Table{rows: [][]string{header}}
}

// Append adds a row; it must have as many cells as the header (a programming error otherwise).
func (t *Table) Append(cells ...string) {
	if len(cells) != len(t.rows[0]) {
		panic("vshfmt: incorrect number of cells in a table row")
	}
	t.rows = append(t.rows, cells)
}

// Format renders the table as vshTablePrint does: each cell is " "+cell, padded to the widest
// cell of its column plus two spaces (the last column is not padded); with header, the header
// row is followed by a line of dashes (each column's width plus three). The header's own width
// counts only when it is printed, as in virsh (quiet mode hides it).
func (t *Table) Format(loc Locale, header bool) string {
	ncols := len(t.rows[0])
	maxw := make([]int, ncols)
	enc := make([][]string, len(t.rows))
	widths := make([][]int, len(t.rows))
	start := 1
	if header {
		start = 0
	}
	for i := start; i < len(t.rows); i++ {
		enc[i] = make([]string, ncols)
		widths[i] = make([]int, ncols)
		for j, cell := range t.rows[i] {
			enc[i][j], widths[i][j] = loc.SafeEncode(cell)
			maxw[j] = max(maxw[j], widths[i][j])
		}
	}
	var b strings.Builder
	row := func(i int) {
		for j := range ncols {
			b.WriteByte(' ')
			b.WriteString(enc[i][j])
			if j < ncols-1 {
				b.WriteString(strings.Repeat(" ", maxw[j]-widths[i][j]+2))
			}
		}
		b.WriteByte('\n')
	}
	if header {
		row(0)
		for j := range ncols {
			b.WriteString(strings.Repeat("-", maxw[j]+3))
		}
		b.WriteByte('\n')
	}
	for i := 1; i < len(t.rows); i++ {
		row(i)
	}
	return b.String()
}
