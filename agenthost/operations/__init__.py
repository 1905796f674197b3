"""Operations and their facts, grouped by the resource they manage as pyinfra's own are
(files, backups, accounts, systemd, apt, docker), with what a run's operations share (plan)
and how root writes files (writes). The stages in agenthost.tasks compose them."""
