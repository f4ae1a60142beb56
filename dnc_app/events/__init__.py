"""What happens after a change: webhook delivery and team notifications."""
