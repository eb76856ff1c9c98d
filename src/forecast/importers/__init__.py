"""Importers of published statistical workbooks into the data contract."""
