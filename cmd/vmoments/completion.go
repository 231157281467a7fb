package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// The completion scripts are virsh's way (tools/bash-completion/vsh): the shell finds the -c
// and -r options and the words from the command on, and asks the program itself, through the
// hidden complete command on the same connection (complete.go), what may replace the word at
// the cursor; when the program offers nothing, the shell completes file names. The program
// answers as virsh does, with spaces escaped by a backslash; the scripts undo that and let the
// shell quote each answer as it quotes file names, so that names with spaces, quotes or colons
// come out as the shell reads them back.

// bashCompletion is the bash script. It needs no bash-completion package: bash splits the line
// at the characters of COMP_WORDBREAKS (a URI such as test:///default at its colon), and the
// script joins again the words that touch, as bash-completion's _get_comp_words_by_ref does.
const bashCompletion = `# bash completion for vmoments (vmoments completion bash)

_vmoments_complete()
{
    local -a words=()
    local cword=0 cur i j=0 w line=$COMP_LINE rest c=1 ro= uri= have_uri=
    # the words as the shell reads them: bash's, joined where no blank parts them
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        rest=${line#"${line%%[![:space:]]*}"}
        if ((i > 0 && ${#rest} == ${#line})); then
            words[j - 1]+=$w
        else
            words[j]=$w
            j=$((j + 1))
        fi
        line=${rest#"$w"}
        ((i == COMP_CWORD)) && cword=$((j - 1))
    done
    cur=${words[cword]}

    # The global options before the command: -c URI and -r choose the connection asked.
    while ((c < cword)); do
        case "${words[c]}" in
            -r|--readonly) ro=1 ;;
            -c|--connect) c=$((c + 1)); uri=${words[c]}; have_uri=1 ;;
            --connect=*) uri=${words[c]#--connect=}; have_uri=1 ;;
            -c?*) uri=${words[c]#-c}; have_uri=1 ;;
            -d|-e|-k|-K|-l|--debug|--escape|--keepalive-interval|--keepalive-count|--log) c=$((c + 1)) ;;
            -*) ;;
            *) break ;;
        esac
        c=$((c + 1))
    done
    COMPREPLY=()
    if ((c >= cword)) && [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "-c --connect -d --debug -e --escape -h --help -k --keepalive-interval -K --keepalive-count -l --log -q --quiet -r --readonly -t --timing -v -V --version" -- "$cur"))
        return 0
    fi

    local -a cmdline=()
    [ -n "$ro" ] && cmdline+=(-r)
    [ -n "$have_uri" ] && cmdline+=(-c "$uri")

    # bash replaces only its own current word, the end of ours after a word break
    local prefix=${cur%"${COMP_WORDS[COMP_CWORD]}"}
    local IFS=$'\n' reply
    reply=$("${words[0]}" "${cmdline[@]}" complete -- "${words[@]:c:cword-c+1}" 2>/dev/null </dev/null) || reply=
    for i in $reply; do
        i=${i//\\ / }
        COMPREPLY+=("${i#"$prefix"}")
    done
    if ((${#COMPREPLY[@]} > 0)); then
        compopt -o filenames 2>/dev/null
    fi
    return 0
}
complete -o default -F _vmoments_complete vmoments
`

// zshCompletion is the zsh script: autoloaded from a directory of $fpath as _vmoments, or
// sourced.
const zshCompletion = `#compdef vmoments
# zsh completion for vmoments (vmoments completion zsh)

_vmoments() {
    local -a cmdline out reply
    local i c=2
    while (( c < CURRENT )); do
        case ${words[c]} in
            -r|--readonly) cmdline+=(-r) ;;
            -c|--connect) (( c++ )); cmdline+=(-c ${(Q)words[c]}) ;;
            --connect=*) cmdline+=(-c ${(Q)${words[c]#--connect=}}) ;;
            -c?*) cmdline+=(-c ${(Q)${words[c]#-c}}) ;;
            -d|-e|-k|-K|-l|--debug|--escape|--keepalive-interval|--keepalive-count|--log) (( c++ )) ;;
            -*) ;;
            *) break ;;
        esac
        (( c++ ))
    done
    if (( c >= CURRENT )) && [[ $PREFIX == -* ]]; then
        compadd -- -c --connect -d --debug -e --escape -h --help -k --keepalive-interval \
            -K --keepalive-count -l --log -q --quiet -r --readonly -t --timing -v -V --version
        return
    fi
    reply=("${(@f)$(${words[1]} $cmdline complete -- "${(@)words[c,CURRENT-1]}" "$PREFIX" 2>/dev/null)}")
    for i in $reply; do
        [[ -n $i ]] && out+=("${i//\\ / }")
    done
    if (( ${#out} )); then
        compadd -U -- $out
    else
        _files
    fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _vmoments "$@"
else
    compdef _vmoments vmoments
fi
`

// runCompletion prints the completion script of the shell named.
func runCompletion(_ context.Context, a *app, c *vsh.Parsed) error {
	shell, _ := c.Value("shell")
	switch shell {
	case "bash":
		a.printf("%s", bashCompletion)
	case "zsh":
		a.printf("%s", zshCompletion)
	default:
		return vsh.Errorf("no completion script for shell '%s': vmoments has them for bash and zsh", shell)
	}
	return nil
}
