"""The banner's languages: the shipped texts (one JSON file per language) and choosing one."""
