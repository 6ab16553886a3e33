#!/usr/bin/env bash
# How the media fixtures here were made (they are committed; the tests do not run this).
# Needs Debian's ffmpeg (apt-get install ffmpeg). Every file is 64 × 48 pixels; videos are one
# second at 25 frames per second, with a tone where the container takes audio.
set -euo pipefail
cd "$(dirname "$0")"
SRC=(-f lavfi -i "testsrc=size=64x48:rate=25:duration=1")
TONE=(-f lavfi -i "sine=frequency=440:duration=1")
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
ff "${SRC[@]}" -frames:v 1 small.jpg
ff "${SRC[@]}" -frames:v 1 small.png
ff "${SRC[@]}" -frames:v 1 small.gif
ff "${SRC[@]}" -frames:v 1 -c:v libwebp small.webp
# MP4 with its index first ("fast start"), as phones and editors export for the web.
ff "${SRC[@]}" "${TONE[@]}" -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest -movflags +faststart clip.mp4
ff "${SRC[@]}" "${TONE[@]}" -c:v libvpx -b:v 100k -c:a libvorbis -shortest clip.webm
ff "${SRC[@]}" -c:v mpeg4 -f mov clip.mov
ff "${SRC[@]}" -c:v mpeg1video -f mpeg clip.mpg
# An image just over Bluesky's (and the sandbox's) 1,000,000 bytes: noise does not compress.
ff -f lavfi -i "nullsrc=s=840x540,geq=random(1)*255:random(2)*255:random(3)*255" -frames:v 1 noise.png
ls -l
