// Package vshfmt reproduces, byte for byte, the output helpers of virsh 9.0 (tools/vsh.c,
// tools/vsh-table.c) that vmoments' list commands must match: the column table of
// snapshot-list and checkpoint-list (vshTable), the tree of --tree (vshTreePrint) and the
// case-insensitive name order (vshStrcasecmp, which is strcasecmp).
//
// The table's column widths depend on the locale, as in virsh: in a UTF-8 locale a cell's
// width is the sum of wcwidth of its characters (2 for East Asian wide characters, 0 for
// combining marks); in the C locale every byte outside ASCII is shown as the four characters
// \xff (virsh's signed-char formatting quirk) and counts four columns. [Locale] decides which,
// from LC_ALL, LC_CTYPE and LANG as setlocale(LC_ALL, "") does.
package vshfmt
