"""What only the overview page shows: the fleet's counts (fleet), the budget's use over time (usage) and
the bar charts that draw them (charts)."""
