#!/usr/bin/env bats
# Shell completions for gw-listen: they offer the options of the binary's
# own usage text, and the values of --auth.

setup() {
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	PATH="$TOP/build:$PATH"
}

@test "bash completion: offers every option of usage(), and --auth values" {
	run bash -c "source '$TOP/completions/bash/gw-listen'
		COMP_WORDS=(gw-listen --pu); COMP_CWORD=1; _gw_daemon
		echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(gw-listen --auth ''); COMP_CWORD=2; _gw_daemon
		echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(gw-listen ''); COMP_CWORD=1; _gw_daemon
		echo \"\${COMPREPLY[*]}\""
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "--publish-rate --publish-burst" ]
	[ "${lines[1]}" = "jwt none" ]
	# Every option in usage() is offered, and nothing else.
	want=$(gw-listen -h 2>&1 | grep -oE -- '--[a-z][-a-z]*|\[-[a-z]+' |
	    sed 's/^\[-\(.*\)/\1/' | sed '/^--/!s/./-&\n/g' | sed '/^$/d' | sort)
	got=$(tr ' ' '\n' <<<"${lines[2]}" | sort)
	[ "$want" = "$got" ]
}

@test "bash completion: gw-bridge gets its own options" {
	run bash -c "source '$TOP/completions/bash/gw-bridge'
		COMP_WORDS=(gw-bridge --hi); COMP_CWORD=1; _gw_daemon
		echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(gw-bridge --redis ''); COMP_CWORD=2; _gw_daemon
		echo \"\${COMPREPLY[*]}\""
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "--history-size --history-ttl" ]
	[ "${lines[1]}" = "redis:// unix://" ]
}

@test "bash completion: gw-supervise's on/off flags (--demo, --io-uring)" {
	run bash -c "source '$TOP/completions/bash/gw-supervise'
		COMP_WORDS=(gw-supervise --io-uring ''); COMP_CWORD=2
		_gw_supervise
		echo \"\${COMPREPLY[*]}\""
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "on off" ]
}

@test "zsh completion: offers the options and --auth values" {
	run zsh -fc "compadd() { print -r -- \"\$*\" }
		words=(gw-listen --max); CURRENT=2; service=gw-listen
		source '$TOP/completions/zsh/_gw'
		words=(gw-listen --auth ''); CURRENT=3
		source '$TOP/completions/zsh/_gw'"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *--max-message* ]]
	[[ "${lines[0]}" == *--head-timeout* ]]
	[ "${lines[1]}" = "jwt none" ]
}
