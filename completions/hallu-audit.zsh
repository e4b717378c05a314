
#compdef hallu-audit

_hallu_audit_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _HALLU_AUDIT_COMPLETE=complete_zsh hallu-audit)
}

compdef _hallu_audit_completion hallu-audit

