"""Tests of the fakegears simulator, over real HTTP against an in-process server."""
