"""Importers that bring knowledge bases over from other systems."""
