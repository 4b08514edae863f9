# SPDX-License-Identifier: MIT
# bash completion for xpcctl (man/xpcctl.1): commands, global options,
# job labels from `xpcctl list` of the broker the line names, signal
# names, plist files and directories for load/unload/bootstrap/bootout,
# activity identifiers from `xpcctl activities` for run-activity.

_xpcctl_labels()
{
	local opts=()
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		--system | --user) opts+=("${COMP_WORDS[i]}") ;;
		--socket) opts+=(--socket "${COMP_WORDS[i + 1]}") ;;
		esac
	done
	xpcctl -q "${opts[@]}" list 2>/dev/null | awk 'NR > 1 { print $3 }'
}

_xpcctl()
{
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="list print load unload bootstrap bootout enable disable kickstart kill reload lookup send blame procinfo activities run-activity monitor capture help"
	local globals="--system --user --socket --json -q --help --version --remote --psk-file --tls"

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--socket | --remote | --psk-file | --tls) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $prev in
	--socket | --psk-file | --tls) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--remote | --name | --pid) return ;;
	esac
	if [[ $cur == -* ]]; then
		local own=""
		case $cmd in
		kickstart) own="-k -p" ;;
		load | bootstrap) own="--strict" ;;
		send) own="--description --timeout --no-reply" ;;
		monitor | capture) own="--name --pid" ;;
		kill) own="-l" ;;
		esac
		COMPREPLY=($(compgen -W "$globals $own" -- "$cur"))
		return
	fi
	case $cmd in
	"") COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
	help) COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
	load | unload | bootstrap | bootout | capture)
		if [[ $cmd == bootstrap || $cmd == bootout ]] && [[ $prev == "$cmd" ]]; then
			COMPREPLY=($(compgen -W "system gui/$(id -u) user/$(id -u)" -- "$cur"))
			return
		fi
		COMPREPLY=($(compgen -f -- "$cur"))
		[[ $cmd == unload ]] && COMPREPLY+=($(compgen -W "$(_xpcctl_labels)" -- "$cur"))
		;;
	kill)
		if [[ $prev == kill ]]; then
			COMPREPLY=($(compgen -W "$(xpcctl kill -l 2>/dev/null | awk '{ print $2; print "SIG" $2 }')" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_xpcctl_labels)" -- "$cur"))
		fi
		;;
	print | enable | disable | kickstart | blame | activities)
		COMPREPLY=($(compgen -W "$(_xpcctl_labels)" -- "$cur")) ;;
	run-activity)
		if [[ $prev == run-activity ]]; then
			COMPREPLY=($(compgen -W "$(_xpcctl_labels)" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(xpcctl -q activities "$prev" 2>/dev/null | awk 'NR > 1 { print $2 }')" -- "$cur"))
		fi
		;;
	procinfo)
		COMPREPLY=($(compgen -W "$(xpcctl -q list 2>/dev/null | awk 'NR > 1 && $1 != "-" { print $1 }')" -- "$cur")) ;;
	esac
}
complete -F _xpcctl xpcctl
