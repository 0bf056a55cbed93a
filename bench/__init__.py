"""Benchmarks (`make bench`): results land in bench/results/ as JSON plus a markdown table."""
