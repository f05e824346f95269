"""Outpatient chronic and special-disease qualification (门诊慢特病资格认定): expert verdicts
per criterion and the qualification records with their validity and designated institutions."""
