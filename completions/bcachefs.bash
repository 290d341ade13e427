# bash completion for bcachefs: commands and options come from the binary
# itself (`bcachefs --list-commands`, `bcachefs CMD --help`), so they always
# match the installed version.
_bcachefs()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$(bcachefs --list-commands 2>/dev/null)" -- "$cur"))
		return
	fi
	case $cur in
	-*)
		local opts
		opts=$(bcachefs "${COMP_WORDS[1]}" --help 2>/dev/null |
			grep -o -- '--[a-z_-]*' | sort -u)
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		;;
	*)
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	esac
}
complete -F _bcachefs bcachefs
