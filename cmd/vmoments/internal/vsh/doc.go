// Package vsh is virsh 9.0's command-line parser (libvirt's tools/vsh.c and tools/virsh.c), so
// that every command line virsh accepts means the same to vmoments and every one it rejects is
// rejected with the same message, in the same order of checks:
//
//   - [ParseGlobals] reads the options before the command as virsh's getopt_long does
//     ("+:c:d:e:hk:K:l:qrtvV": short options grouped, long ones abbreviated, parsing stops at
//     the first word that is not an option).
//   - [ParseArgs] reads the rest: one argument is a command string (several commands separated
//     by ';' or newlines, '#' comments, shell-like quotes and backslashes: [CommandString]);
//     several arguments are the words of one command ([Words]). [Parse] is vshCommandParse.
//   - [Cmd.Help] is the per-command help (vshCmddefHelp).
//
// The rules of a command's words, in short:
//
//   - The first word names the command. Then "--name" sets a [Bool] option; "--name VALUE" or
//     "--name=VALUE" a [String] or [Data] option; a value may begin with dashes ("--from --x"
//     gives from "--x").
//   - A word that is not an option fills the next option that may be given by position: the
//     options in definition order that take a value and are not [Opt.OptionOnly] (so with
//     snapshot-list's <domain> then --from, "snapshot-list dom s1" means --from s1). An [Argv]
//     option takes every positional word left, and "--name VALUE" adds one more word to it (as
//     often as given).
//   - "--" makes every later word positional. A lone "-x" is positional.
//   - "--help" anywhere turns the command into "help COMMAND" (the command named help).
//   - Errors: "command 'C' doesn't support option --X", "option --X already seen",
//     "expected syntax: --X <string>", "invalid '=' after option --X", "unexpected data 'W'",
//     "command 'C' requires <X> option", "unknown command: 'C'", `missing "`, `dangling \`.
//
// Errors are values ([*Error]: the lines virsh prints, each after "error: "); nothing in this
// package prints unless asked to ([Report]).
package vsh
